"""The API serves the web dashboard's production build at "/" (and says how to build it
when there is none), without ever shadowing an API path."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine


def _client(dist: Path) -> TestClient:
    settings = ApiSettings(database_url="sqlite://", web_dist=dist, offline=True)
    return TestClient(create_app(settings, engine=make_engine("sqlite://")))


def _build(folder: Path) -> Path:
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><div id=root></div>")
    (folder / "assets" / "index-abc123.js").write_text("console.log('app')")
    (folder / "favicon.svg").write_text("<svg/>")
    return folder


def test_every_page_path_gets_the_app_and_assets_are_cached_for_a_year(tmp_path: Path) -> None:
    """/ and the app's own paths (/holdings, a reload of /analytics) answer index.html,
    not cached; hashed assets are immutable; top-level files are served as they are."""
    client = _client(_build(tmp_path / "dist"))
    for path in ("/", "/holdings", "/analytics/deep/link"):
        answer = client.get(path)
        assert (200, True) == (answer.status_code, "<div id=root>" in answer.text), path
        assert "no-cache" == answer.headers["cache-control"]
    asset = client.get("/assets/index-abc123.js")
    assert (200, "public, max-age=31536000, immutable") == (
        asset.status_code,
        asset.headers["cache-control"],
    )
    assert "<svg/>" == client.get("/favicon.svg").text


def test_api_paths_are_never_the_app(tmp_path: Path) -> None:
    """An unknown API path is the API's 404 problem, not the page; the docs still work;
    a path escaping the build folder is not served."""
    client = _client(_build(tmp_path / "dist"))
    unknown = client.get("/api/v1/no-such-route")
    assert 404 == unknown.status_code and "<div" not in unknown.text
    assert 200 == client.get("/openapi.json").status_code
    assert "swagger" in client.get("/docs").text.lower()
    (tmp_path / "secret.txt").write_text("secret")
    escaped = client.get("/..%2Fsecret.txt")
    assert "secret" != escaped.text


def test_without_a_build_the_root_says_how_to_make_one(tmp_path: Path) -> None:
    """No web/dist: "/" explains `make web` instead of failing."""
    answer = _client(tmp_path / "missing").get("/")
    assert 200 == answer.status_code and "make web" in answer.text
