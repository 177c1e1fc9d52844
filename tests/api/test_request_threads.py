"""QUANTDESK_REQUEST_THREADS: how many requests one API process runs at once (the rest
wait their turn on the event loop, in order); 4 unless set, 0 for anyio's 40."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine, migrate


def _peak_of_six_concurrent_requests(url: str) -> int:
    app = create_app(ApiSettings.from_env(url, offline=True), engine=make_engine(url))
    lock, running, peak = threading.Lock(), [0], [0]

    def probe() -> str:  # a sync route: it runs in the threadpool, as every route here
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.15)
        with lock:
            running[0] -= 1
        return "ok"

    app.router.routes.insert(0, APIRoute("/probe", probe))  # before the web's catch-all
    with TestClient(app) as client, ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: client.get("/probe"), range(6)))
    assert [200] * 6 == [a.status_code for a in answers]
    return peak[0]


@pytest.mark.parametrize(("threads", "peak"), [("2", 2), ("1", 1), ("", 4), ("0", 6)])
def test_a_process_runs_at_most_its_request_threads_at_once_and_answers_every_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: str, peak: int
) -> None:
    url = f"sqlite:///{tmp_path / 'threads.db'}"
    migrate(make_engine(url))
    monkeypatch.setenv("QUANTDESK_REQUEST_THREADS", threads)
    assert peak == _peak_of_six_concurrent_requests(url)


def test_a_request_thread_count_that_is_not_a_number_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUANTDESK_REQUEST_THREADS", "four")
    with pytest.raises(Exception, match="QUANTDESK_REQUEST_THREADS must be a whole number"):
        ApiSettings.from_env("sqlite://")
