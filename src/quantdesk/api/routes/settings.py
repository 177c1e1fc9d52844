"""Per-user settings: base currency, benchmark, risk-free rate, price provider keys.

The provider keys are write-only: an answer says whether each is set and its last four
characters, never the key (services/settings.py; stored as given until issue 10 adds
encryption at rest)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from quantdesk.api.deps import Caller, CallerDep
from quantdesk.api.routes.analytics import forget_answers
from quantdesk.api.schemas import Strict
from quantdesk.domain.money import to_text
from quantdesk.services import settings

router = APIRouter(prefix="/settings", tags=["settings"])


class KeyStateOut(BaseModel):
    set: bool
    last4: str | None = Field(description="The key's last 4 characters (never the key).")


class ProviderKeysOut(BaseModel):
    alpha_vantage: KeyStateOut
    coingecko: KeyStateOut


class SettingsOut(BaseModel):
    base_currency: str = Field(description="ISO 4217: holdings' total_in_base is in it.")
    benchmark: str = Field(description="GET /analytics's benchmark when none is asked.")
    risk_free: str = Field(
        description="A fraction per year (decimal string, 0.04 is 4%): GET /analytics's "
        "risk_free when none is asked."
    )
    provider_keys: ProviderKeysOut


class SettingsPatch(Strict):
    """The settings to change; a field left out stays. null (or "") puts the base
    currency, benchmark or rate back to its default, or clears a key."""

    base_currency: str | None = Field(default=None, max_length=10, examples=["EUR"])
    benchmark: str | None = Field(default=None, max_length=40, examples=["VT"])
    risk_free: Decimal | None = Field(
        default=None, description="A fraction per year, -0.05 to 0.5.", examples=["0.035"]
    )
    alpha_vantage_key: str | None = Field(default=None, max_length=200)
    coingecko_key: str | None = Field(
        default=None, max_length=200, description="A CoinGecko demo or pro API key."
    )


def settings_out(found: settings.UserSettings) -> SettingsOut:
    def state(name: str) -> KeyStateOut:
        key = found.key_state(name)
        return KeyStateOut(set=key.set, last4=key.last4)

    return SettingsOut(
        base_currency=found.base_currency,
        benchmark=found.benchmark,
        risk_free=to_text(found.risk_free),
        provider_keys=ProviderKeysOut(
            alpha_vantage=state("alpha_vantage_key"), coingecko=state("coingecko_key")
        ),
    )


@router.get("")
def get_settings(caller: CallerDep) -> SettingsOut:
    """The caller's settings (the defaults for those never set)."""
    return settings_out(settings.read_settings(caller.uow))


def _changed(caller: Caller) -> None:
    """After a change: the analytics defaults and answers are read afresh at once."""
    caller.settings_cache().forget(caller.user_id)
    forget_answers(caller)


@router.patch("")
def update_settings(body: SettingsPatch, caller: CallerDep) -> SettingsOut:
    """Change some settings; a bad value is a 422 naming each bad field (nothing is
    changed then). Analytics asked without a benchmark or risk_free use the new ones."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    found = settings.update_settings(caller.uow, changes, clock=caller.services.clock)
    _changed(caller)
    return settings_out(found)
