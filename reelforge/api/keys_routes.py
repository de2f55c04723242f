"""The admin API for keys and credits (admin key only); `reelforge keys` does the same
from the shell.

    POST   /v1/admin/keys                       issue a key (the answer shows it, once)
    GET    /v1/admin/keys                       list keys (prefixes, never the keys)
    DELETE /v1/admin/keys/{id}                  revoke a key (its id or prefix)
    GET    /v1/admin/accounts                   balances
    POST   /v1/admin/accounts/{account}/credits grant (or, negative, take back) credits
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic.config import JsonDict

from reelforge import endpoints
from reelforge.accounts import credits, keys
from reelforge.accounts.credits import MAX_NOTE_LENGTH
from reelforge.api.admin_routes import AdminDep
from reelforge.api.body import JsonRoute
from reelforge.api.deps import ServicesDep
from reelforge.endpoints.fields import plain_text  # text every database can store
from reelforge.errors import NotFound
from reelforge.jobs.billing import UNITS_PER_CREDIT

# JsonRoute: bodies read by the one JSON reader (capped; hostile JSON a 400 naming why)
router = APIRouter(prefix="/v1/admin", route_class=JsonRoute)


def _json_number(value: object) -> object:
    """A JSON number only (pydantic alone would take true for 1 and "5" for 5)."""
    if isinstance(value, bool | str):
        raise ValueError("must be a number")
    return value


# (bounds go before the validator: after it, pydantic writes them into no JSON Schema)
Number = Annotated[float, BeforeValidator(_json_number)]
RateLimit = Annotated[int, Field(ge=0, le=keys.MAX_RATE_LIMIT), BeforeValidator(_json_number)]

# JSON Schema only: keys.issue and credits.grant check these, with their own messages
_ACCOUNT: JsonDict = {"pattern": f"^({credits.ACCOUNT_NAME.pattern})?$"}  # empty: not given
_SLUGS: JsonDict = {"minItems": 1, "items": {"enum": list(endpoints.SLUGS)}}
_NOT_ZERO: JsonDict = {
    "not": {"minimum": -0.5 / UNITS_PER_CREDIT, "maximum": 0.5 / UNITS_PER_CREDIT}
}
# without an account, the key's name names its new account
_NAME_IS_ACCOUNT: JsonDict = {
    "if": {"required": ["account"], "properties": {"account": {"type": "string", "minLength": 1}}},
    "else": {"properties": {"name": _ACCOUNT}},
}


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_NAME_IS_ACCOUNT)

    name: Annotated[str, AfterValidator(plain_text)] = Field(
        min_length=1, max_length=keys.MAX_NAME_LENGTH
    )
    # default: a new account named after the key
    account: str | None = Field(None, json_schema_extra=_ACCOUNT)
    credits: Number = Field(0.0, ge=0, le=credits.MAX_CREDITS)  # opening balance, new account
    unlimited: StrictBool = False  # a new account with unlimited credits
    slugs: list[str] | None = Field(None, json_schema_extra=_SLUGS)  # default: every model
    rate_limit: RateLimit | None = None  # requests per minute; default the server's


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # in 1/10000 credits: an amount that rounds to 0 is refused
    credits: Number = Field(
        ge=-credits.MAX_CREDITS, le=credits.MAX_CREDITS, json_schema_extra=_NOT_ZERO
    )
    note: Annotated[str, AfterValidator(plain_text)] | None = Field(
        None, max_length=MAX_NOTE_LENGTH
    )


@router.post("/keys")
def issue_key(new: NewKey, _admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    """A new key; `key` is shown in this answer only."""
    raw, info = keys.issue(
        services.db,
        name=new.name,
        account=new.account,
        opening_credits=None if new.unlimited else new.credits,
        slugs=new.slugs,
        rate_limit=new.rate_limit,
    )
    return {"key": raw, **info.as_dict()}


@router.get("/keys")
def list_keys(_admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    return {"keys": [info.as_dict() for info in keys.listing(services.db)]}


@router.delete("/keys/{key_id}")
def revoke_key(key_id: str, _admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    info = keys.revoke(services.db, key_id)
    if info is None:
        raise NotFound(f"Key {key_id} not found")
    return info.as_dict()


@router.get("/accounts")
def list_accounts(_admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    balances = credits.all_balances(services.db)
    return {"accounts": [balance.as_dict() for balance in balances]}


@router.post("/accounts/{account}/credits")
def grant_credits(
    account: str, grant: Grant, _admin: AdminDep, services: ServicesDep
) -> dict[str, Any]:
    return credits.grant(services.db, account, grant.credits, grant.note).as_dict()
