"""The web dashboard's production build (``web/dist``), served at ``/``.

Files under ``/assets`` are served as they are (their names carry a content hash, so
they are cached for a year); every other path that is not the API's is the single-page
app's ``index.html``, whose router shows the page. Without a build, ``/`` says how to
make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

#: Paths the dashboard never claims.
_NOT_THE_APP = ("api/", "docs", "redoc", "openapi.json", "healthz", "metrics")
_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>quantdesk</title></head><body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>quantdesk</h1><p>The API is running (see <a href="/docs">/docs</a>), but the web dashboard
has not been built. Build it with <code>make web</code> (or run <code>make demo</code>,
which builds it), then reload this page.</p></body></html>"""


def default_dist() -> Path:
    """``web/dist`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


def install(app: FastAPI, dist: Path) -> None:
    """Serve the build in ``dist`` (or the how-to-build page when there is none)."""
    index = dist / "index.html"
    assets = dist / "assets"
    if assets.is_dir():
        app.mount("/assets", _ImmutableFiles(directory=assets), name="assets")

    def dashboard(request: Request) -> Response:
        path = str(request.path_params.get("path", ""))
        if path.startswith(_NOT_THE_APP):
            return Response(status_code=404)
        file = (dist / path).resolve()
        if path and file.is_file() and file.is_relative_to(dist.resolve()):
            return FileResponse(file)  # favicon and the like, at the build's top level
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    # A plain route, not an API operation: it is not in the OpenAPI document.
    app.add_route("/{path:path}", dashboard, methods=["GET", "HEAD"], name="dashboard")


class _ImmutableFiles(StaticFiles):
    """Hashed build assets: cache them for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
