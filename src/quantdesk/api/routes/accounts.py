"""The caller's accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from quantdesk.api.deps import CallerDep
from quantdesk.api.schemas import AccountIn, AccountOut, AccountPatch, Id
from quantdesk.domain.accounts import AccountKind, validate_account_name
from quantdesk.services import portfolio, views

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.get("")
def list_accounts(caller: CallerDep) -> list[AccountOut]:
    return [AccountOut(**views.account_json(a)) for a in portfolio.list_accounts(caller.uow)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_account(body: AccountIn, caller: CallerDep) -> AccountOut:
    account = portfolio.add_account(
        caller.uow,
        body.name,
        kind=body.kind,
        institution=body.institution,
        currency=body.currency,
        clock=caller.services.clock,
        taxable=body.taxable,
    )
    return AccountOut(**views.account_json(account))


@router.get("/{account_id}")
def get_account(account_id: Id, caller: CallerDep) -> AccountOut:
    with caller.uow(commit=False) as store:
        return AccountOut(**views.account_json(store.account_by_id(account_id)))


@router.patch("/{account_id}")
def update_account(account_id: Id, body: AccountPatch, caller: CallerDep) -> AccountOut:
    values: dict[str, Any] = {}
    if body.name is not None:
        values["name"] = validate_account_name(body.name)
    if body.kind is not None:
        values["kind"] = AccountKind.parse(body.kind).value
    if "institution" in body.model_fields_set:
        values["institution"] = body.institution.strip() if body.institution else None
    if "taxable" in body.model_fields_set:
        values["taxable"] = body.taxable
    with caller.uow() as store:
        if "name" in values:
            store.lock()
        return AccountOut(**views.account_json(store.update_account(account_id, values)))


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_account(account_id: Id, caller: CallerDep) -> None:
    """Delete an account and every entry in it (refused if another account's entries
    depend on it, such as the other leg of a transfer that a later sale needs)."""
    portfolio.delete_account(caller.uow, account_id)
