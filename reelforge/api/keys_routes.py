"""The admin API for keys and credits (admin key only); `reelforge keys` does the same
from the shell.

    POST   /v1/admin/keys                       issue a key (the answer shows it, once)
    GET    /v1/admin/keys                       list keys (prefixes, never the keys)
    DELETE /v1/admin/keys/{id}                  revoke a key (its id or prefix)
    GET    /v1/admin/accounts                   balances
    POST   /v1/admin/accounts/{account}/credits grant (or, negative, take back) credits
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from reelforge.accounts import credits, keys
from reelforge.api.admin_routes import AdminDep
from reelforge.api.deps import ServicesDep
from reelforge.errors import NotFound

router = APIRouter(prefix="/v1/admin")


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    account: str | None = None  # default: a new account named after the key
    credits: float = Field(0.0, ge=0, le=credits.MAX_CREDITS)  # opening balance, new account
    unlimited: bool = False  # a new account with unlimited credits
    slugs: list[str] | None = None  # models it may use; default all
    rate_limit: int | None = Field(None, ge=0)  # requests per minute; default the server's


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credits: float = Field(ge=-credits.MAX_CREDITS, le=credits.MAX_CREDITS)
    note: str | None = Field(None, max_length=255)


@router.post("/keys")
def issue_key(new: NewKey, _admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    """A new key; `key` is shown in this answer only."""
    raw, info = keys.issue(
        services.queue.engine,
        name=new.name,
        account=new.account,
        opening_credits=None if new.unlimited else new.credits,
        slugs=new.slugs,
        rate_limit=new.rate_limit,
    )
    return {"key": raw, **info.as_dict()}


@router.get("/keys")
def list_keys(_admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    return {"keys": [info.as_dict() for info in keys.listing(services.queue.engine)]}


@router.delete("/keys/{key_id}")
def revoke_key(key_id: str, _admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    info = keys.revoke(services.queue.engine, key_id)
    if info is None:
        raise NotFound(f"Key {key_id} not found")
    return info.as_dict()


@router.get("/accounts")
def list_accounts(_admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    balances = credits.all_balances(services.queue.engine)
    return {"accounts": [balance.as_dict() for balance in balances]}


@router.post("/accounts/{account}/credits")
def grant_credits(
    account: str, grant: Grant, _admin: AdminDep, services: ServicesDep
) -> dict[str, Any]:
    return credits.grant(services.queue.engine, account, grant.credits, grant.note).as_dict()
