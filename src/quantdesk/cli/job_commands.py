"""`quantdesk worker` and `quantdesk jobs`: the background job queue (RQ on Redis at
``QUANTDESK_REDIS_URL``; jobs.py says what the jobs are and why RQ)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from quantdesk import bootstrap, jobs
from quantdesk.cli.app import JsonOpt, _ctx, _print_json, app, out

jobs_app = typer.Typer(help="Background jobs: list them, or queue a refresh or recompute.")
app.add_typer(jobs_app, name="jobs")


def _database(ctx: typer.Context) -> str:
    """Point the jobs at the database of --db (as the worker does); the user of --user."""
    import os  # noqa: PLC0415

    context = _ctx(ctx)
    os.environ["QUANTDESK_DATABASE_URL"] = context.db
    return context.user


@app.command("worker")
def worker_command(
    ctx: typer.Context,
    burst: Annotated[bool, typer.Option("--burst", help="Run the queued jobs, then stop.")] = False,
) -> None:
    """Run background jobs from the queue (several workers may run at once)."""
    import os  # noqa: PLC0415

    from rq import SimpleWorker  # noqa: PLC0415

    os.environ["QUANTDESK_DATABASE_URL"] = _ctx(ctx).db  # the jobs' database
    q = jobs.queue()
    out.print(f"quantdesk worker on queue '{q.name}' ({jobs.redis_url()})", highlight=False)
    # Jobs run in this process, one at a time (RQ's SimpleWorker), not in a work horse
    # forked per job: a fork, a new database connection and a cold engine cost more CPU
    # than a recompute itself (139 ms against ~50 ms a job under benchmarks/stack.py).
    # A job's timeout still holds (SIGALRM in this process); kill -9 of this process
    # leaves the job abandoned, found and retried by the next worker as before.
    worker = SimpleWorker([q], connection=q.connection)
    bootstrap.started()
    worker.work(burst=burst, with_scheduler=True)


@jobs_app.command("list")
def jobs_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Recent jobs and their status, newest first."""
    _ctx(ctx)
    found = jobs.jobs(jobs.queue())
    if as_json:
        _print_json([jobs.job_json(j) for j in found])
        return
    table = Table("Job", "Status", "Queued", "Ended", "Error", title="Jobs")
    for j in found:
        table.add_row(
            j.id,
            j.status,
            j.enqueued_at.isoformat(timespec="seconds") if j.enqueued_at else "",
            j.ended_at.isoformat(timespec="seconds") if j.ended_at else "",
            j.error or "",
        )
    out.print(table if found else "No jobs.")


@jobs_app.command("refresh")
def jobs_refresh(ctx: typer.Context) -> None:
    """Queue a refresh of every symbol any user holds (each fetched once)."""
    _database(ctx)
    job = jobs.enqueue_refresh(jobs.queue())
    out.print(f"Queued {job.id} ({job.get_status()}).", highlight=False)


@jobs_app.command("sync")
def jobs_sync(ctx: typer.Context) -> None:
    """Queue a sync of every user's connections (also part of `jobs schedule`)."""
    _database(ctx)
    job = jobs.enqueue_sync(jobs.queue())
    out.print(f"Queued {job.id} ({job.get_status()}).", highlight=False)


@jobs_app.command("recompute")
def jobs_recompute(ctx: typer.Context) -> None:
    """Queue a recompute of your analytics (--user)."""
    user = _database(ctx)
    job = jobs.enqueue_recompute(jobs.queue(), user)
    out.print(f"Queued {job.id} ({job.get_status()}).", highlight=False)


@jobs_app.command("nightly")
def jobs_nightly(ctx: typer.Context) -> None:
    """Queue tonight's full run: refresh every held symbol, then recompute every user
    (run it from cron or a systemd timer once a day)."""
    _database(ctx)
    job = jobs.enqueue_nightly(jobs.queue())
    out.print(f"Queued {job.id} ({job.get_status()}).", highlight=False)


@jobs_app.command("schedule")
def jobs_schedule(
    ctx: typer.Context,
    every: Annotated[
        int, typer.Option("--refresh-every", help="Minutes between price refreshes.", min=1)
    ] = 15,
    nightly_at: Annotated[
        str, typer.Option("--nightly-at", help="The nightly run's time of day, HH:MM UTC.")
    ] = "02:00",
) -> None:
    """Start the schedules: a refresh of every held symbol now and every N minutes, and the
    nightly refresh and recompute of every user. Each run schedules the next (a worker
    runs them when due); scheduling again does not start a second chain."""
    from datetime import timedelta  # noqa: PLC0415

    _database(ctx)
    q = jobs.queue()
    first = jobs.schedule_refresh(q, bootstrap.utc_now() + timedelta(seconds=1), every * 60)
    night = jobs.schedule_nightly(q, nightly_at)
    out.print(
        f"Scheduled {first.id} (then every {every} min) and {night.id} "
        f"(then daily at {nightly_at} UTC). Keep `quantdesk worker` running.",
        highlight=False,
    )
