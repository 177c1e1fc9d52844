"""The web dashboard's typed API client is generated from the API's own spec."""

from __future__ import annotations

import json
from pathlib import Path

from quantdesk.api.spec import openapi

ROOT = Path(__file__).resolve().parents[2]


def test_the_dashboards_copy_of_the_openapi_document_is_current() -> None:
    """web/src/api/openapi.json (from which schema.d.ts is generated) equals what the API
    serves; after an API change run `make web-types` and commit both files."""
    committed = json.loads((ROOT / "web" / "src" / "api" / "openapi.json").read_text())
    assert openapi() == committed, "the API changed: run `make web-types`"
