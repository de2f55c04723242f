"""The result cache on the API side: the `cache` field a submit may carry on every model
(like the webhook fields: checked here, kept off the endpoint's parameters), the
`Cache-Control` header, and whether and where a submit may be served from
(`reelforge.jobs.cache`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reelforge import uploads
from reelforge.api.deps import Services
from reelforge.endpoints import Endpoint
from reelforge.errors import BadRequest
from reelforge.jobs import billing, cache, fleet

FIELD = "cache"
NO_CACHE_DIRECTIVES = frozenset({"no-cache", "no-store"})


def take(body: Any) -> tuple[Any, bool]:
    """Split the `cache` field off `body`: (the rest, whether the cache may be used).
    `null` or absent: true. Anything but a boolean is a 400 naming it."""
    if not isinstance(body, Mapping) or FIELD not in body:
        return body, True
    wanted = body[FIELD]
    if wanted is not None and not isinstance(wanted, bool):
        raise BadRequest("cache: must be true or false")
    return {k: v for k, v in body.items() if k != FIELD}, wanted is not False


def allowed_by(headers: Mapping[str, str]) -> bool:
    """False when the request says `Cache-Control: no-cache` (or `no-store`)."""
    directives = {part.strip().lower() for part in headers.get("cache-control", "").split(",")}
    return not (directives & NO_CACHE_DIRECTIVES)


def fingerprint(
    services: Services, endpoint: Endpoint, fields: Any, params: dict[str, Any]
) -> str | None:
    """The submit's cache fingerprint, or None when it is never served from nor offered to
    the cache: a random seed (nothing to match), or an input fetched from a URL whose bytes
    may change under the same address. Inline `data:` inputs and this server's own uploads
    (immutable, named by their storage key here) are part of the fingerprint."""
    if not isinstance(fields, Mapping) or fields.get("seed") is None:
        return None
    normalised = dict(params)
    for name in endpoint.media_fields:
        url = params.get(name)
        if not url or str(url).startswith("data:"):
            continue
        try:
            key = uploads.own_upload_key(str(url), services.signer)
        except ValueError:
            return None
        if key is None:
            return None
        normalised[name] = f"upload:{key}"
    return cache.fingerprint(endpoint.slug, normalised)


def lookup(services: Services, slug: str) -> cache.Lookup | None:
    """Where a cacheable submit of `slug` may be served from: results made by the one
    checkpoint the model's live workers run. None (it runs) when no live worker serves
    it, a worker's checkpoint has no known hash, or workers run different checkpoints."""
    within = fleet.live_window(services.settings.heartbeat_seconds)
    runtimes = fleet.runtimes(services.db, slug, within)
    hashes = {(runtime.get("checkpoint") or {}).get("sha256") for runtime in runtimes}
    if len(hashes) != 1 or None in hashes:
        return None
    settings = services.settings
    return cache.Lookup(
        checkpoint=str(hashes.pop()),
        across_accounts=settings.cache_across_accounts,
        price_units=billing.to_units(settings.cache_hit_price),
    )
