"""The analytics answers of an app (routes/analytics.py ``_Answers``): a missing answer is
computed once however many requests ask for it at once, a stale one is served while one
request refreshes it, and a failed computation is never stored. And the cached
authentications of reads (deps.py ``_Principals``): a write of the user drops them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from fastapi import FastAPI

from quantdesk.api.deps import _Principals
from quantdesk.api.routes import analytics as analytics_routes
from quantdesk.api.routes.analytics import PRICE_RECHECK_SECONDS, Answer, _Answers
from quantdesk.services.auth import Principal
from tests.api.conftest import browser, script, seed_portfolio
from tests.conftest import NOW

KEY = (1, "request", 7, "simulated", NOW.date())
THREADS = 16
WAIT = 10.0  # seconds: a bound on any wait below, never reached when the code is right


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Compute:
    """A stand-in for the analytics: counts its calls, each one blocked until released
    (so that every thread asks while it runs), answering b"answer 1", b"answer 2"..."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self.started = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self) -> Answer:
        with self.lock:
            self.calls += 1
            n = self.calls
        self.started.set()
        assert self.release.wait(WAIT)
        if self.fail:
            raise RuntimeError(f"failure {n}")
        return f"answer {n}".encode(), None


def _ask_from_threads(
    answers: _Answers, compute: Callable[[], Answer], count: int = THREADS
) -> list[bytes | BaseException]:
    """``count`` threads ask for KEY at once; what each got, an answer or an error."""
    barrier = threading.Barrier(count)

    def ask() -> bytes | BaseException:
        barrier.wait(WAIT)
        try:
            return answers.answer(KEY, compute)
        except Exception as error:
            return error

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(ask) for _ in range(count)]
        return [f.result(WAIT) for f in futures]


class _CountingFuture(Future[Answer]):
    """The flight of a computation, counting the requests that wait for it."""

    waiting = 0
    lock = threading.Lock()

    def result(self, timeout: float | None = None) -> Answer:
        with _CountingFuture.lock:
            _CountingFuture.waiting += 1
        return super().result(timeout)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[_CountingFuture]:
    monkeypatch.setattr(analytics_routes, "Future", _CountingFuture)
    monkeypatch.setattr(_CountingFuture, "waiting", 0)
    return _CountingFuture


def _release_when_all_wait(compute: Compute, waiting: Callable[[], int]) -> threading.Thread:
    """Releases the computation once every other thread waits for it."""

    def release() -> None:
        assert compute.started.wait(WAIT)
        deadline = time.monotonic() + WAIT
        while waiting() < THREADS - 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        compute.release.set()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_concurrent_misses_compute_once_and_all_get_the_answer(
    counted: type[_CountingFuture],
) -> None:
    answers = _Answers(clock=Clock())
    compute = Compute()
    releaser = _release_when_all_wait(compute, lambda: counted.waiting)
    got = _ask_from_threads(answers, compute)
    releaser.join(WAIT)
    assert (1, THREADS - 1) == (compute.calls, counted.waiting)
    assert [b"answer 1"] * THREADS == got
    assert b"answer 1" == answers.cached(KEY)
    assert {} == answers.flights


def test_distinct_keys_compute_each_once() -> None:
    answers = _Answers(clock=Clock())
    calls: list[int] = []
    lock = threading.Lock()

    def ask(i: int) -> bytes:
        def compute() -> Answer:
            with lock:
                calls.append(i % 4)
            time.sleep(0.05)
            return f"user {i % 4}".encode(), None

        return answers.answer((i % 4, *KEY[1:]), compute)

    with ThreadPoolExecutor(THREADS) as pool:
        got = list(pool.map(ask, range(THREADS)))
    assert [0, 1, 2, 3] == sorted(calls)
    assert [f"user {i % 4}".encode() for i in range(THREADS)] == got


def test_a_fresh_answer_is_not_computed_again() -> None:
    clock = Clock()
    answers = _Answers(clock=clock)
    assert b"first" == answers.answer(KEY, lambda: (b"first", None))
    clock.now += PRICE_RECHECK_SECONDS  # still within the recheck interval
    assert b"first" == answers.cached(KEY)
    assert b"first" == answers.answer(KEY, lambda: pytest.fail("computed again"))


def test_a_stale_answer_is_served_while_one_request_refreshes_it() -> None:
    clock = Clock()
    answers = _Answers(clock=clock)
    assert b"old" == answers.answer(KEY, lambda: (b"old", None))
    clock.now += PRICE_RECHECK_SECONDS + 1
    assert answers.cached(KEY) is None  # stale, and nobody refreshes it: the caller will
    compute = Compute()
    with ThreadPoolExecutor(1) as pool:
        refreshing = pool.submit(answers.answer, KEY, compute)
        assert compute.started.wait(WAIT)
        # while the refresh runs, everyone else gets the previous answer at once
        others = _ask_from_threads(answers, lambda: pytest.fail("a second refresh"))
        assert [b"old"] * THREADS == others
        assert b"old" == answers.cached(KEY)
        compute.release.set()
        assert b"answer 1" == refreshing.result(WAIT)
    assert 1 == compute.calls
    assert b"answer 1" == answers.cached(KEY)
    assert b"answer 1" == answers.answer(KEY, lambda: pytest.fail("computed again"))


def test_a_stale_answer_whose_versions_stand_is_kept_without_computing_it() -> None:
    """Past the recheck interval, one read of the versions revalidates an answer computed
    from the same versions: served again for another interval, not computed again; once
    a close moved the market's price version, the next revalidation computes it again."""
    clock = Clock()
    answers = _Answers(clock=clock)
    now = [(7, 3, 0)]
    reads: list[int] = []

    def versions() -> tuple[int, int, int]:
        reads.append(1)
        return now[0]

    assert b"first" == answers.answer(KEY, lambda: (b"first", (7, 3, 0)), versions)
    assert [] == reads  # nothing to revalidate yet
    clock.now += PRICE_RECHECK_SECONDS + 1
    assert answers.cached(KEY) is None
    assert b"first" == answers.answer(KEY, lambda: pytest.fail("computed again"), versions)
    assert 1 == len(reads)
    clock.now += PRICE_RECHECK_SECONDS  # revalidated: fresh for another interval
    assert b"first" == answers.cached(KEY)
    clock.now += 1
    now[0] = (7, 4, 0)  # a market close landed
    assert b"second" == answers.answer(KEY, lambda: (b"second", (7, 4, 0)), versions)
    assert (2, b"second") == (len(reads), answers.cached(KEY))
    # an answer without versions (computed before they were known) is computed again
    answers.put(KEY, (b"unversioned", None), answers.mark())
    clock.now += PRICE_RECHECK_SECONDS + 1
    assert b"third" == answers.answer(KEY, lambda: (b"third", (7, 4, 0)), versions)
    assert 2 == len(reads)


def test_an_answer_computed_elsewhere_before_a_price_refresh_is_not_kept() -> None:
    """The analytics an edit answers with, or one computed again in the background, may
    have read the prices that a refresh of the user's (forget) replaced meanwhile: not
    kept; one computed after it is."""
    answers = _Answers(clock=Clock())
    mark = answers.mark()
    answers.forget(KEY[0])  # the user's prices were refreshed while it computed
    answers.put(KEY, (b"before the refresh", (7, 3, 0)), mark)
    assert answers.cached(KEY) is None
    answers.put(KEY, (b"after the refresh", (7, 4, 0)), answers.mark())
    assert b"after the refresh" == answers.cached(KEY)


def test_a_failed_refresh_keeps_the_previous_answer_and_the_next_request_retries() -> None:
    clock = Clock()
    answers = _Answers(clock=clock)
    answers.answer(KEY, lambda: (b"old", None))
    clock.now += PRICE_RECHECK_SECONDS + 1
    compute = Compute(fail=True)
    compute.release.set()
    # the refreshing request gets the previous answer rather than the error
    assert b"old" == answers.answer(KEY, compute)
    assert 1 == compute.calls
    assert {} == answers.flights
    assert answers.cached(KEY) is None  # still stale: not served as if refreshed
    assert b"new" == answers.answer(KEY, lambda: (b"new", None))
    assert b"new" == answers.cached(KEY)


def test_a_failed_computation_surfaces_and_is_not_stored(
    counted: type[_CountingFuture],
) -> None:
    answers = _Answers(clock=Clock())
    compute = Compute(fail=True)
    releaser = _release_when_all_wait(compute, lambda: counted.waiting)
    got = _ask_from_threads(answers, compute)
    releaser.join(WAIT)
    # computed once: the computing request and those that waited for it get its error
    assert (1, THREADS - 1) == (compute.calls, counted.waiting)
    assert all(isinstance(g, RuntimeError) and str(g) == "failure 1" for g in got), got
    assert answers.cached(KEY) is None
    assert {} == answers.items
    assert {} == answers.flights
    # nothing poisoned: the next request computes afresh
    assert b"fine" == answers.answer(KEY, lambda: (b"fine", None))
    assert b"fine" == answers.cached(KEY)


def test_a_new_ledger_revision_is_another_key_never_served_stale() -> None:
    answers = _Answers(clock=Clock())
    answers.answer(KEY, lambda: (b"revision 7", None))
    edited = (*KEY[:2], KEY[2] + 1, *KEY[3:])
    assert answers.cached(edited) is None
    assert b"revision 8" == answers.answer(edited, lambda: (b"revision 8", None))


def test_forget_drops_answers_and_what_a_computation_in_progress_read() -> None:
    """After a price refresh, an answer computed from the prices before is not stored."""
    answers = _Answers(clock=Clock())
    answers.answer(KEY, lambda: (b"old prices", None))
    other = (2, *KEY[1:])
    answers.answer(other, lambda: (b"another user", None))
    answers.forget(KEY[0])
    assert answers.cached(KEY) is None
    assert b"another user" == answers.cached(other)
    compute = Compute()
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(answers.answer, KEY, compute)
        assert compute.started.wait(WAIT)
        answers.forget(KEY[0])  # the prices changed while it computed
        compute.release.set()
        assert b"answer 1" == running.result(WAIT)  # its own request gets it
    assert answers.cached(KEY) is None
    assert b"new prices" == answers.answer(KEY, lambda: (b"new prices", None))


def test_the_oldest_answers_go_beyond_the_size() -> None:
    answers = _Answers(size=2, clock=Clock())
    keys = [(u, *KEY[1:]) for u in range(3)]
    for k in keys:
        answers.answer(k, lambda k=k: (str(k[0]).encode(), None))
    assert [None, b"1", b"2"] == [answers.cached(k) for k in keys]


# cached authentications --------------------------------------------------------------
def _principal(user_id: int = 1, revision: int = 0) -> Principal:
    return Principal(user_id, "ann", "api", 10, None, revision, "simulated")


def test_a_cached_authentication_lasts_its_ttl() -> None:
    clock = Clock()
    principals = _Principals(ttl=2.0, clock=clock)
    key = ("api", "hash")
    principals.put(key, _principal(), principals.mark(), NOW)
    assert _principal() == principals.get(key, NOW)
    clock.now += 2.0
    assert principals.get(key, NOW) is None


def test_one_read_renews_a_cached_authentication_before_it_expires() -> None:
    """Late in its life, one read looks the token up again while the others are still
    served: a busy token's reads do not all go to the database when it expires."""
    clock = Clock()
    principals = _Principals(ttl=2.0, clock=clock)
    key = ("api", "hash")
    principals.put(key, _principal(), principals.mark(), NOW)
    clock.now += 1.6
    assert principals.get(key, NOW) is None  # this read renews it
    assert _principal() == principals.get(key, NOW)  # the others are served meanwhile
    principals.put(key, _principal(revision=3), principals.mark(), NOW)
    clock.now += 1.6
    assert principals.get(key, NOW) is None
    principals.drop(key)  # the database refused the token
    assert principals.get(key, NOW) is None
    assert {} == principals.items


def test_a_write_of_the_user_drops_its_cached_authentications() -> None:
    principals = _Principals(ttl=60.0, clock=Clock())
    ann, bob = ("api", "ann"), ("api", "bob")
    principals.put(ann, _principal(1), principals.mark(), NOW)
    principals.put(bob, _principal(2), principals.mark(), NOW)
    principals.begin_write(1)
    assert principals.get(ann, NOW) is None
    principals.put(ann, _principal(1), principals.mark(), NOW)  # during the write
    assert principals.get(ann, NOW) is None
    principals.end_write(1)
    assert principals.get(ann, NOW) is None
    assert _principal(2) == principals.get(bob, NOW)
    # a lookup that began before the write ended may have read the old revision
    mark = principals.mark()
    principals.begin_write(1)
    principals.end_write(1)
    principals.put(ann, _principal(1), mark, NOW)
    assert principals.get(ann, NOW) is None
    # one that began after it is kept
    principals.put(ann, _principal(1, revision=1), principals.mark(), NOW)
    assert _principal(1, revision=1) == principals.get(ann, NOW)


def test_over_http_a_write_refreshes_the_cached_authentication(sqlite_app: FastAPI) -> None:
    """A read caches the caller's authentication (with the ledger revision the analytics
    key uses); the user's write drops it, so the next read sees the new revision; a
    logout is refused at once to a session whose reads were cached."""
    ann = script(sqlite_app, "ann")
    services = sqlite_app.state.services

    def cached() -> list[Principal]:
        return [p for p, _, _ in services.caches["principals"].items.values()]

    assert 200 == ann.get("/api/v1/accounts").status_code
    [before] = cached()
    seed_portfolio(ann)  # writes (a buy: a new revision), then reads the holdings
    [after] = cached()
    assert (before.user_id, before.token_id) == (after.user_id, after.token_id)
    assert after.ledger_revision > before.ledger_revision
    bob = browser(sqlite_app, "bob")
    assert 200 == bob.get("/api/v1/auth/me").status_code
    assert 204 == bob.post("/api/v1/auth/logout").status_code
    assert 401 == bob.get("/api/v1/auth/me").status_code


def test_over_http_the_analytics_an_edit_answers_with_serve_the_next_read(
    sqlite_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grid edit answers with the analytics after it; the user's next GET /analytics
    with the same options is that answer, from memory (nothing computed or read)."""
    ann = script(sqlite_app, "ann")
    made = seed_portfolio(ann)
    holding = made["holding"]
    edited = ann.patch(
        f"/api/v1/holdings/{holding['id']}",
        json={"quantity": "12", "version": holding["version"]},
    )
    assert 200 == edited.status_code, edited.text
    computed: list[object] = []
    real = analytics_routes.materialize.materialized_analytics

    def counting(*args: object, **kwargs: object) -> object:
        computed.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(analytics_routes.materialize, "materialized_analytics", counting)
    read = ann.get("/api/v1/analytics", params={"period": "ALL"})
    assert 200 == read.status_code
    assert edited.json()["analytics"] == read.json()
    assert [] == computed
    # other options are another answer: computed
    assert 200 == ann.get("/api/v1/analytics", params={"period": "1M"}).status_code
    assert 1 == len(computed)


def test_over_http_every_write_ends_its_bracket_whether_it_succeeds_or_fails(
    sqlite_app: FastAPI,
) -> None:
    """A write begins its user's bracket when it is authenticated and ends it when its
    request ends (EndWrites), answered or refused: a bracket left open would keep the
    user's reads from being cached for ever."""
    ann = script(sqlite_app, "ann")
    principals = sqlite_app.state.services.caches["principals"]
    made = ann.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"})
    assert 201 == made.status_code
    assert {} == principals.writing
    again = ann.post("/api/v1/accounts", json={"name": "Broker", "kind": "brokerage"})
    assert 409 == again.status_code  # refused by the domain, inside the route
    assert 422 == ann.post("/api/v1/accounts", json={"kind": "nope"}).status_code
    assert {} == principals.writing
    assert 200 == ann.get("/api/v1/accounts").status_code
    assert [1] == [p.user_id for p, _, _ in principals.items.values()]  # cached again
