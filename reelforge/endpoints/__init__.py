"""The five endpoints: one parameter schema per slug, with its rules, plan and price.

    from reelforge import endpoints
    endpoint = endpoints.get("pixverse-5-video")      # None for an unknown slug
    params = endpoint.validate(body, url_checker=...)  # BadRequest naming the field
    credits = endpoint.price(params)
    task = endpoint.plan(params, {"image_url": decoded_image})

See `base.Endpoint` for the interface and `fields.media_url_checker` for the URL checker
the API should pass.
"""

from __future__ import annotations

from reelforge.endpoints.base import Endpoint, Media
from reelforge.endpoints.extend import Extend
from reelforge.endpoints.fields import MediaKind, UrlChecker, check_url_syntax, media_url_checker
from reelforge.endpoints.text2video import Text2Video
from reelforge.endpoints.transition import Transition
from reelforge.endpoints.v6 import V6
from reelforge.endpoints.video import Video

_ENDPOINTS: dict[str, Endpoint] = {
    endpoint.slug: endpoint for endpoint in (Text2Video(), Video(), Transition(), Extend(), V6())
}
SLUGS: tuple[str, ...] = tuple(_ENDPOINTS)


def get(slug: str) -> Endpoint | None:
    """The endpoint serving `slug`, or None."""
    return _ENDPOINTS.get(slug)


__all__ = [
    "SLUGS",
    "Endpoint",
    "Media",
    "MediaKind",
    "UrlChecker",
    "check_url_syntax",
    "get",
    "media_url_checker",
]
