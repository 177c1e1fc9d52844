"""Job functions for the fault tests (a worker subprocess imports them by name: the test
puts the repository on its PYTHONPATH)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from quantdesk import jobs


def slow_recompute(user: str, marker: str) -> dict[str, Any]:
    """The first run says it started (``marker``) and then takes long enough to be
    killed; a retry (the marker exists) recomputes at once."""
    started = Path(marker)
    if not started.exists():
        started.write_text("started")
        time.sleep(60)
    return jobs.recompute(user)
