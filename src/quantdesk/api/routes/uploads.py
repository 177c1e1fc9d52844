"""File uploads into the ledger: detected format, preview, every row error; all rows or
none."""

from __future__ import annotations

import tempfile
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import JSONResponse

from quantdesk.api.deps import CallerDep
from quantdesk.api.problems import PayloadTooLarge, problem
from quantdesk.importers.generic import FORMATS
from quantdesk.services import portfolio, views
from quantdesk.services.import_file import ImportOptions, import_stream

router = APIRouter(tags=["uploads"])

_CHUNK = 1024 * 1024


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def _spooled(upload: UploadFile, limit: int) -> BinaryIO:
    """The upload copied into a spooled file, refused past ``limit`` bytes."""
    spool: Any = tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK)  # noqa: SIM115 - returned
    size = 0
    while chunk := upload.file.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            spool.close()
            raise PayloadTooLarge(
                f"the file is over the upload limit of {_size(limit)} (QUANTDESK_MAX_UPLOAD_MB)"
            )
        spool.write(chunk)
    spool.seek(0)
    return spool  # type: ignore[no-any-return]


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + 64 * 1024:
        raise PayloadTooLarge(
            f"the request ({_size(int(length))}) is over the upload limit of "
            f"{_size(limit)} (QUANTDESK_MAX_UPLOAD_MB)"
        )


@router.post(
    "/uploads",
    responses={200: {"description": "Imported (or previewed, with dry_run)"}},
)
def upload(
    request: Request,
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="A CSV export or generic file")],
    account: Annotated[str | None, Form(max_length=100, description="Account name")] = None,
    format: Annotated[
        str, Form(max_length=40, description="auto, generic-holdings or generic-trades")
    ] = "auto",
    dry_run: Annotated[bool, Form()] = False,
    allow_unknown_basis: Annotated[bool, Form()] = False,
) -> Any:
    """Import a file: the detected format, a preview and every row error. Nothing is
    stored unless every row is valid (then 422 with ``errors`` naming line and column),
    and nothing with ``dry_run``."""
    limit = caller.services.settings.max_upload_bytes
    _check_length(request, limit)
    stream = _spooled(file, limit)
    try:
        report = import_stream(
            caller.uow,
            stream,
            file.filename or "upload.csv",
            ImportOptions(account, format, dry_run, allow_unknown_basis),
            clock=caller.services.clock,
        )
    finally:
        stream.close()
    body = views.import_json(report)
    if not report.ok:
        return problem(
            422,
            "invalid-rows",
            f"{report.issue_count} problem(s) in {body['file']}; nothing was imported",
            errors=[
                {
                    "field": (f"line {i.line}" if i.line is not None else "file")
                    + (f", column {i.column}" if i.column else ""),
                    "message": i.reason,
                }
                for i in report.issues
            ],
            report=body,
        )
    return JSONResponse(body, status_code=status.HTTP_200_OK)


@router.get("/formats", tags=["uploads"])
def formats(_caller: CallerDep) -> list[dict[str, Any]]:
    """The file formats an upload understands, with the columns each expects."""
    return [
        {
            "name": f.name,
            "description": f.description,
            "required": list(f.required),
            "optional": list(f.optional),
        }
        for f in FORMATS
    ]


@router.post("/prices/closes", tags=["prices"])
def upload_closes(
    request: Request,
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="date,symbol,close[,currency][,asset_type]")],
) -> dict[str, int]:
    """Store your own daily closes (private to you; they win over the market's)."""
    limit = caller.services.settings.max_upload_bytes
    _check_length(request, limit)
    stream = _spooled(file, limit)
    try:
        count = portfolio.import_price_stream(caller.uow, stream, clock=caller.services.clock)
    finally:
        stream.close()
    return {"stored": count}
