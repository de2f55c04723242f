"""API keys: issued, listed, revoked, and recognised on every request.

A key reads `rfk_<id>_<secret>`. The database keeps its id (the visible prefix
`rfk_<id>`, shown in listings) and the SHA-256 of the whole key, never the key: the
secret is 256 random bits, so a fast hash is as good as a slow one here (there is
nothing to brute-force), and a dump of the database lets nobody call the API.
Hashes are compared with `hmac.compare_digest`, in constant time.

A `KeyCache` remembers for a few seconds (REELFORGE_KEY_CACHE_SECONDS) the callers it
authenticated, by their key's SHA-256, so that a key seen a moment ago costs neither a
hash-and-query nor any I/O. The price is a bound: a key revoked by another process (the
CLI, another API replica) still works here until its entry expires; `revoke` in this
process forgets it at once in every cache of the process.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, insert, select, update

from reelforge import endpoints
from reelforge.accounts import credits
from reelforge.accounts.admin import ADMIN
from reelforge.errors import BadRequest, Conflict
from reelforge.jobs.schema import api_keys

PREFIX = "rfk"
KEY_ID = re.compile(r"[0-9a-f]{1,64}")  # what `issue` makes them (12 hex digits), and more
MAX_NAME_LENGTH = 128
MAX_RATE_LIMIT = 1_000_000  # requests per minute (the column is a 32-bit INTEGER)
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()
MAX_CACHED = 10_000  # callers a KeyCache remembers (the oldest go first)
MAX_REFUSED = 1_000  # unknown or revoked keys it remembers as such (repeats: no query)
# past this share of its time a remembered caller is looked up again in the background:
# its requests never all wait for the lookup when the entry lapses (a stall of every
# poller of a busy key, every key_cache_seconds, the status route's slowest answers)
REFRESH_SHARE = 0.6


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


ADMIN_CALLER: Final = Caller(ADMIN, ADMIN, None, 0)  # the operator: never rate limited


class Refused:
    """What a KeyCache says of a key it remembers as unknown or revoked."""


REFUSED: Final = Refused()
_caches: weakref.WeakSet[KeyCache] = weakref.WeakSet()  # this process's, for `revoke`


class KeyCache:
    """Callers authenticated in the last `ttl` seconds, by the SHA-256 of their key, and
    (fewer) keys refused in that time. `lookup` does no I/O; `ttl` 0 remembers nothing."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._callers: dict[str, tuple[float, Caller]] = {}  # hash -> (expires, caller)
        self._refused: dict[str, float] = {}  # hash -> expires
        self._lock = threading.Lock()  # writers: the event loop and the thread pool
        _caches.add(self)

    def lookup(self, presented: str) -> Caller | Refused | None:
        """The caller `presented` stood for a moment ago, REFUSED, or None: not known."""
        if not self.ttl:
            return None
        digest, now = _hash(presented), time.monotonic()
        hit = self._callers.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        refused = self._refused.get(digest)
        if refused is not None and refused > now:
            return REFUSED
        return None

    def due(self, presented: str) -> bool:
        """Whether the caller remembered for `presented` is past REFRESH_SHARE of its time:
        worth asking the database again, in the background, before it lapses."""
        hit = self._callers.get(_hash(presented)) if self.ttl else None
        return hit is not None and hit[0] - time.monotonic() < self.ttl * (1 - REFRESH_SHARE)

    def remember(self, presented: str, caller: Caller | None) -> None:
        if not self.ttl:
            return
        digest, expires = _hash(presented), time.monotonic() + self.ttl
        with self._lock:
            if caller is None:
                self._callers.pop(digest, None)  # revoked meanwhile: refused from now on
                _put(self._refused, digest, expires, MAX_REFUSED)
            else:
                _put(self._callers, digest, (expires, caller), MAX_CACHED)

    def forget(self, key_id: str) -> None:
        """Drop every entry of key `key_id` (revoked)."""
        with self._lock:
            for digest, (_expires, caller) in list(self._callers.items()):
                if caller.key_id == key_id:
                    del self._callers[digest]


def _put(entries: dict[str, Any], digest: str, value: Any, limit: int) -> None:
    entries.pop(digest, None)  # re-inserted last: the dict keeps insertion order
    entries[digest] = value
    while len(entries) > limit:
        del entries[next(iter(entries))]


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


def recall(presented: str, admin_key: str, cache: KeyCache | None) -> Caller | Refused | None:
    """What `authenticate` would say without the database: the admin, or what `cache`
    remembers (a caller, or REFUSED); None when only the database can tell. No I/O."""
    if hmac.compare_digest(presented.encode(), admin_key.encode()):
        return ADMIN_CALLER
    return cache.lookup(presented) if cache is not None else None


def authenticate(
    engine: Engine, presented: str, admin_key: str, cache: KeyCache | None = None
) -> Caller | None:
    """The caller a presented key stands for, or None (unknown, malformed or revoked);
    from `cache` when it knows the key, else from the database (and `cache` learns it)."""
    known = recall(presented, admin_key, cache)
    if known is not None:
        return known if isinstance(known, Caller) else None
    caller = _look_up(engine, presented)
    if cache is not None:
        cache.remember(presented, caller)
    return caller


def refresh(engine: Engine, presented: str, cache: KeyCache) -> Caller | None:
    """The database's word on a key `cache` still remembers, and `cache` learns it: a
    busy key's entry renewed before it lapses (api/deps.py), a revoke seen then."""
    caller = _look_up(engine, presented)
    cache.remember(presented, caller)
    return caller


def _look_up(engine: Engine, presented: str) -> Caller | None:
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
    if not KEY_ID.fullmatch(key_id):  # no key's id (a NUL: PostgreSQL refuses it): no query
        return None
    with engine.begin() as conn:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one_or_none()
    for cache in list(_caches):  # this process refuses it at once (others: within their TTL)
        cache.forget(key_id)
    return None if row is None else _info(row)


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        row.id, row.account_id, row.name, row.slugs, row.rate_limit, row.created_at,
        row.revoked_at,
    )  # fmt: skip
