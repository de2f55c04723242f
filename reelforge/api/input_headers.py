"""What a submit can tell of a video input it already holds: a `data:` URL's header.

A video sent inline is at hand at submit, so a file whose header alone shows it too long
or too big to decode at the job's size (a 30 KB H.264 file of 160 black 4K frames) is a
400 naming its field before any job exists, not a FAILED job. Inputs behind a URL are
fetched by the worker, which checks the same while it decodes (media/decode.py). Anything
else wrong with the file (damaged, not a video) is left to the worker, whose error names
the field too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reelforge.endpoints import Endpoint
from reelforge.errors import BadRequest, InputError, InputTooLarge
from reelforge.media import decode, ingest
from reelforge.settings import Settings


def refuse_oversized_videos(
    endpoint: Endpoint, params: Mapping[str, Any], settings: Settings
) -> None:
    """BadRequest naming the field for an inline video the job could not hold decoded
    (`REELFORGE_MAX_DECODED_INPUT_BYTES` at the job's size)."""
    for field, kind in endpoint.media_fields.items():
        url = params.get(field)
        if kind != "video" or not isinstance(url, str) or ingest.url_scheme(url) != "data":
            continue
        with tempfile.TemporaryDirectory(prefix="reelforge-submit-") as tmp:
            try:
                path = ingest.fetch(
                    url,
                    Path(tmp) / field,
                    max_bytes=settings.max_video_bytes,
                    timeout=settings.fetch_timeout,
                    allow_private=settings.allow_private_urls,
                )
                decode.check_video_header(
                    path,
                    size_for=endpoint.size_for(params),
                    max_decoded_bytes=settings.max_decoded_input_bytes,
                )
            except InputTooLarge as exc:
                raise BadRequest(f"{field}: {exc}") from None
            except InputError:
                pass  # the worker decodes it, and says what is wrong with it
