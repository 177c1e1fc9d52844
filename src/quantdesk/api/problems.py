"""Errors as RFC 9457 problem details (``application/problem+json``), mapped in one table.

Every problem has a stable ``type`` (``urn:quantdesk:problem:<slug>``), a ``title``, the
``status`` and a ``detail`` for people; validation problems list every bad field in
``errors``, upload problems every bad row. Anything not mapped is a logged 500 whose body
says nothing of the internals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from quantdesk.bootstrap import SchemaOutdated
from quantdesk.domain.errors import (
    Conflict,
    InsufficientLots,
    InvalidFields,
    InvalidInput,
    LedgerError,
    NotAuthenticated,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    QuantdeskError,
    RateLimited,
    StaleWrite,
    TooManyAttempts,
    UnknownSymbol,
)
from quantdesk.importers.base import RowIssue
from quantdesk.importers.prices import PriceFileError

log = logging.getLogger("quantdesk.api")
MEDIA_TYPE = "application/problem+json"
PREFIX = "urn:quantdesk:problem:"


class Forbidden(QuantdeskError):
    """Authenticated, but the request may not do this (a write without its CSRF token)."""


class PayloadTooLarge(QuantdeskError):
    """An upload over the configured limit."""


class FieldError(BaseModel):
    field: str = Field(description="Where: body.quantity, query.limit, file line 3 ...")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: ``type`` is stable and safe to branch on."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    current: dict[str, Any] | None = Field(
        default=None, description="On a stale write (409): the resource as it is now."
    )
    retry_after: int | None = None


#: Most specific first: the first entry the error is an instance of wins.
PROBLEMS: list[tuple[type[Exception], int, str]] = [
    (NotAuthenticated, 401, "not-authenticated"),
    (Forbidden, 403, "forbidden"),
    (TooManyAttempts, 429, "too-many-attempts"),
    (PayloadTooLarge, 413, "payload-too-large"),
    (StaleWrite, 409, "stale-write"),
    (InsufficientLots, 409, "insufficient-lots"),
    (LedgerError, 409, "ledger-inconsistent"),
    (Conflict, 409, "conflict"),
    (NotFound, 404, "not-found"),
    (UnknownSymbol, 404, "unknown-symbol"),
    (RateLimited, 503, "provider-rate-limited"),
    (ProviderUnavailable, 503, "provider-unavailable"),
    (ProviderError, 502, "provider-error"),
    (PriceFileError, 422, "invalid-price-file"),
    (InvalidFields, 422, "validation-error"),
    (InvalidInput, 422, "invalid-input"),
    (SchemaOutdated, 503, "schema-outdated"),
]

#: The problems any route may answer with, for the OpenAPI spec.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": HTTPStatus(status).phrase}
    for status in (400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503)
}


def row_errors(issues: Iterable[RowIssue]) -> list[dict[str, str]]:
    """A file's row issues as problem ``errors``: the field names the line and column."""
    return [
        {
            "field": ("file" if i.line is None else f"file line {i.line}")
            + (f", column {i.column}" if i.column else ""),
            "message": i.reason,
        }
        for i in issues
    ]


def problem(
    status: int,
    slug: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PREFIX + slug,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _domain(request: Request, error: Exception) -> JSONResponse:
    found = next(((st, sl) for kind, st, sl in PROBLEMS if isinstance(error, kind)), None)
    if found is None:
        return _unexpected(request, error)
    status, slug = found
    headers = None
    extra: dict[str, Any] = {}
    errors = None
    if isinstance(error, InvalidFields):
        errors = [{"field": f"body.{f}" if f else "body", "message": m} for f, m in error.fields]
    if isinstance(error, PriceFileError):
        errors = row_errors(error.issues.items)
    if isinstance(error, TooManyAttempts):
        headers = {"Retry-After": str(error.retry_after)}
        extra["retry_after"] = error.retry_after
    if isinstance(error, RateLimited) and error.retry_after:
        headers = {"Retry-After": str(int(error.retry_after) + 1)}
    if isinstance(error, NotAuthenticated):
        headers = {"WWW-Authenticate": 'Bearer realm="quantdesk"'}
    if isinstance(error, StaleWrite):
        render = getattr(request.app.state, "render_stale", None)
        extra["current"] = render(error.current) if render else None
    return problem(status, slug, str(error), errors=errors, headers=headers, **extra)


def _validation(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(part) for part in e.get("loc", ())) or "request",
            "message": str(e.get("msg", "invalid")),
        }
        for e in error.errors()
    ]
    fields = ", ".join(e["field"] for e in errors)
    return problem(422, "validation-error", f"invalid request: {fields}", errors=errors)


def _http(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(
        error.status_code, HTTPStatus(error.status_code).phrase.lower().replace(" ", "-")
    )
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    return problem(
        error.status_code, slug, detail, headers=dict(error.headers) if error.headers else None
    )


def _database(_request: Request, error: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", error)
    return problem(
        503,
        "database-unavailable",
        "the database is unavailable; nothing was changed, try again shortly",
        headers={"Retry-After": "5"},
    )


def _busy(_request: Request, error: Exception) -> JSONResponse:
    log.warning("no database connection free: %s", error)
    return problem(
        503,
        "server-busy",
        "the server is too busy to take this request now (no database connection came free"
        " in time); nothing was changed, try again shortly",
        headers={"Retry-After": "5"},
    )


def _integrity(_request: Request, error: Exception) -> JSONResponse:
    log.info("integrity error: %s", error)
    return problem(409, "conflict", "the change conflicts with another one; nothing was changed")


def _data(_request: Request, error: Exception) -> JSONResponse:
    log.info("data error: %s", error)
    return problem(422, "invalid-input", "a value does not fit what the ledger can store")


def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return problem(500, "internal-error", "an unexpected error occurred; it has been logged")


def _document_problems(app: FastAPI) -> None:
    """Declare the problems under the media type they are sent with: FastAPI files every
    response ``model`` under ``application/json``, but errors are ``application/problem+json``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] in {"4", "5"} and "application/json" in content:
                        content[MEDIA_TYPE] = content.pop("application/json")
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document_problems(app)
    app.add_exception_handler(QuantdeskError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(PoolTimeout, _busy)
    app.add_exception_handler(Exception, _unexpected)
