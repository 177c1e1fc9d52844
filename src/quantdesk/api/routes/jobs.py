"""The background jobs a user can see: their analytics recomputes and the shared price
refreshes (jobs.py)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter
from redis.exceptions import RedisError

from quantdesk import jobs
from quantdesk.api.deps import CallerDep
from quantdesk.domain.errors import ProviderUnavailable

router = APIRouter(tags=["jobs"])


@router.get("/jobs")
def list_jobs(caller: CallerDep) -> dict[str, Any]:
    """Recent jobs, newest first, with their status, result or error; ``configured`` is
    false (and the list empty) when the deployment runs no queue (QUANTDESK_REDIS_URL)."""
    if not os.environ.get("QUANTDESK_REDIS_URL"):
        return {"configured": False, "jobs": []}
    try:
        found = jobs.jobs(jobs.queue(), caller.principal.user_name)
    except (RedisError, OSError) as error:
        raise ProviderUnavailable(f"the job queue cannot be reached: {error}") from None
    return {"configured": True, "jobs": [jobs.job_json(j) for j in found]}
