"""API keys: issued, listed, revoked, and recognised on every request.

A key reads `rfk_<id>_<secret>`. The database keeps its id (the visible prefix
`rfk_<id>`, shown in listings) and the SHA-256 of the whole key, never the key: the
secret is 256 random bits, so a fast hash is as good as a slow one here (there is
nothing to brute-force), and a dump of the database lets nobody call the API.
Hashes are compared with `hmac.compare_digest`, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from reelforge import endpoints
from reelforge.accounts import credits
from reelforge.accounts.admin import ADMIN
from reelforge.errors import BadRequest, Conflict
from reelforge.jobs.schema import api_keys

PREFIX = "rfk"
MAX_NAME_LENGTH = 128
MAX_RATE_LIMIT = 1_000_000  # requests per minute (the column is a 32-bit INTEGER)
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is calling: the account its jobs belong to and the key's own limits."""

    account: str
    key_id: str  # scopes rate limits and idempotency keys
    slugs: tuple[str, ...] | None  # endpoints it may use; None = all
    rate_limit: int | None  # requests per minute; None = server default; 0 = no limit


@dataclass(frozen=True)
class KeyInfo:
    id: str
    account: str
    name: str
    slugs: list[str] | None
    rate_limit: int | None
    created_at: float
    revoked_at: float | None

    @property
    def prefix(self) -> str:
        return f"{PREFIX}_{self.id}"

    def as_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, **self.__dict__}


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(
    engine: Engine,
    *,
    name: str,
    account: str | None = None,
    opening_credits: float | None = 0.0,
    slugs: list[str] | None = None,
    rate_limit: int | None = None,
) -> tuple[str, KeyInfo]:
    """A new key on `account` (default: a new account named after the key), opened with
    `opening_credits` (None: unlimited) when the account is new. Returns (the key, its info);
    the key itself is never shown again."""
    if not 0 < len(name) <= MAX_NAME_LENGTH:
        raise BadRequest(f"name: 1 to {MAX_NAME_LENGTH} characters (got {len(name)})")
    account = credits.check_name(account or name)
    if rate_limit is not None and not 0 <= rate_limit <= MAX_RATE_LIMIT:
        raise BadRequest(f"rate_limit: requests per minute, 0 to {MAX_RATE_LIMIT} (0: no limit)")
    unknown = [slug for slug in slugs or () if endpoints.get(slug) is None]
    if unknown or slugs == []:
        raise BadRequest(
            f"slugs: unknown model(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(endpoints.SLUGS)}"
        )
    key_id = secrets.token_hex(6)
    raw = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    now = time.time()
    with engine.begin() as conn:
        if not credits.exists(conn, account):
            credits.open_account(conn, account, opening_credits)
        elif opening_credits is None or opening_credits:
            raise Conflict(
                f"account {account} already exists: issue the key without credits and "
                "grant them to the account"
            )
        conn.execute(
            insert(api_keys).values(
                id=key_id,
                account_id=account,
                name=name,
                secret_hash=_hash(raw),
                slugs=slugs,
                rate_limit=rate_limit,
                created_at=now,
            )  # fmt: skip
        )
    return raw, KeyInfo(key_id, account, name, slugs, rate_limit, now, None)


def authenticate(engine: Engine, presented: str, admin_key: str) -> Caller | None:
    """The caller a presented key stands for, or None (unknown, malformed or revoked)."""
    if hmac.compare_digest(presented.encode(), admin_key.encode()):
        return Caller(ADMIN, ADMIN, None, 0)  # the operator: never rate limited
    prefix, _, rest = presented.partition("_")
    key_id, _, _secret = rest.partition("_")
    row = None
    if prefix == PREFIX and key_id:
        with engine.begin() as conn:
            row = conn.execute(
                select(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            ).one_or_none()
    # hash and compare even for an unknown id, so both take the same time
    stored = row.secret_hash if row is not None else _DUMMY_HASH
    if not hmac.compare_digest(stored.encode(), _hash(presented).encode()) or row is None:
        return None
    slugs = tuple(row.slugs) if row.slugs is not None else None
    return Caller(row.account_id, row.id, slugs, row.rate_limit)


def listing(engine: Engine) -> list[KeyInfo]:
    with engine.begin() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at)).all()
    return [_info(row) for row in rows]


def revoke(engine: Engine, key_id: str) -> KeyInfo | None:
    """Revoke a key by its id or prefix; its next request is a 401. None if unknown."""
    key_id = key_id.removeprefix(f"{PREFIX}_")
    with engine.begin() as conn:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one_or_none()
    return None if row is None else _info(row)


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        row.id, row.account_id, row.name, row.slugs, row.rate_limit, row.created_at,
        row.revoked_at,
    )  # fmt: skip
