"""The API's OpenAPI document, without a database: ``python -m quantdesk.api.spec`` prints
it (the web dashboard's typed client is generated from it)."""

from __future__ import annotations

import json
import sys
from typing import Any

from quantdesk.api.app import create_app
from quantdesk.api.settings import ApiSettings
from quantdesk.store.database import make_engine


def openapi() -> dict[str, Any]:
    """The document the running API serves at /openapi.json (the engine never connects)."""
    app = create_app(ApiSettings(database_url="sqlite://"), engine=make_engine("sqlite://"))
    return app.openapi()


def main() -> None:
    sys.stdout.write(json.dumps(openapi(), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
