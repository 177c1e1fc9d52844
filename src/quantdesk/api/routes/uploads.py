"""File uploads into the ledger: detected format, preview, every row error; all rows or
none."""

from __future__ import annotations

from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import JSONResponse

from quantdesk import jobs
from quantdesk.api.deps import CallerDep
from quantdesk.api.limits import size_text
from quantdesk.api.problems import PayloadTooLarge, problem, row_errors
from quantdesk.services import portfolio, views
from quantdesk.services.import_file import ImportOptions, import_stream

router = APIRouter(tags=["uploads"])


def _checked(upload: UploadFile, limit: int) -> BinaryIO:
    """The uploaded file (already spooled by the form parser, and the body already
    bounded by :class:`~quantdesk.api.limits.BodyLimit`), refused past ``limit`` bytes."""
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(
            f"the file is over the upload limit of {size_text(limit)} (QUANTDESK_MAX_UPLOAD_MB)"
        )
    return upload.file


@router.post(
    "/uploads",
    responses={200: {"description": "Imported (or previewed, with dry_run)"}},
)
def upload(
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="A CSV export or generic file")],
    account: Annotated[str | None, Form(max_length=100, description="Account name")] = None,
    format: Annotated[
        str, Form(max_length=40, description="auto (detect), or a name from GET /formats")
    ] = "auto",
    dry_run: Annotated[bool, Form()] = False,
    allow_unknown_basis: Annotated[bool, Form()] = False,
) -> Any:
    """Import a file: the detected format, a preview and every row error. Nothing is
    stored unless every row is valid (then 422 with ``errors`` naming line and column),
    and nothing with ``dry_run``."""
    report = import_stream(
        caller.uow,
        _checked(file, caller.services.settings.max_upload_bytes),
        file.filename or "upload.csv",
        ImportOptions(account, format, dry_run, allow_unknown_basis),
        clock=caller.services.clock,
    )
    body = views.import_json(report)
    if not report.ok:
        return problem(
            422,
            "invalid-rows",
            f"{report.issue_count} problem(s) in {body['file']}; nothing was imported",
            errors=row_errors(report.issues),
            report=body,
        )
    if report.added and not dry_run:
        with caller.uow(commit=False) as store:
            revision = store.ledger_revision()
        job = jobs.after_change(caller.principal.user_name, revision)
        body["recompute_job"] = None if job is None else job.id
    return JSONResponse(body, status_code=status.HTTP_200_OK)


@router.get("/formats", tags=["uploads"])
def formats(_caller: CallerDep) -> list[dict[str, Any]]:
    """The file formats an upload understands, with the columns each expects."""
    return views.formats_json()


@router.post("/prices/closes", tags=["prices"])
def upload_closes(
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="date,symbol,close[,currency][,asset_type]")],
) -> dict[str, int]:
    """Store your own daily closes (private to you; they win over the market's)."""
    stream = _checked(file, caller.services.settings.max_upload_bytes)
    count = portfolio.import_price_stream(caller.uow, stream, clock=caller.services.clock)
    return {"stored": count}
