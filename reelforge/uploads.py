"""Input files that clients upload (POST /v1/files), and how a job finds them again.

Persistence lives here, not in `media/` (media is bytes in, bytes out): the `uploads`
table is defined with every other table in `jobs/schema.py`.

An upload is stored under `uploads/<account>/<uuid>.<ext>`, recorded in the `uploads`
table (migration 0004) with the retention of a request, and answered as a Reelforge-signed
URL, `<base>/files/uploads/...?expires=...&signature=...`: usable by any client (GET
/files serves it) and in any endpoint's image_url/video_url.

The worker does not fetch such a URL over HTTP (the server is usually on a loopback or
private address the fetcher refuses, and going out and back in would be pointless):
`open_upload` recognises a URL whose path holds `/files/uploads/...` and whose HMAC
signature is ours (so the host does not matter: only this server could have signed it),
and copies the object straight from storage, under the same byte cap as a fetch. A URL
that merely looks like ours, with a wrong signature, goes to the ordinary fetcher like
any other URL. `purge` deletes expired uploads; the API's expiry sweep calls it.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Engine, delete, select

from reelforge.endpoints import MediaKind, UrlChecker
from reelforge.errors import BadRequest, InputError
from reelforge.jobs.schema import uploads
from reelforge.media.decode import detect_media
from reelforge.settings import Settings
from reelforge.storage import Storage, UrlSigner

log = logging.getLogger("reelforge.uploads")

# the formats an upload may have (sniffed from the content): kind, extension, media type
FORMATS = {
    "png": ("image", "png", "image/png"),
    "jpeg": ("image", "jpg", "image/jpeg"),
    "webp": ("image", "webp", "image/webp"),
    "mp4": ("video", "mp4", "video/mp4"),
    "mov": ("video", "mov", "video/quicktime"),
    "webm": ("video", "webm", "video/webm"),
    "matroska": ("video", "mkv", "video/x-matroska"),
}
PREFIX = "uploads/"
_MARKER = "/files/" + PREFIX  # in the path of every upload URL we sign


def check_file(path: Path, settings: Settings) -> tuple[str, str, str]:
    """(kind, extension, media type) of an uploaded file; BadRequest when its format is
    not on the allow-list or it is larger than that kind's cap."""
    found = detect_media(path)
    if found not in FORMATS:
        what = "an unrecognised format" if found == "unknown" else found.upper()
        raise BadRequest(f"{what} is not accepted: upload PNG, JPEG, WebP, MP4, MOV, WebM or MKV")
    kind, ext, media_type = FORMATS[found]
    cap = settings.max_image_bytes if kind == "image" else settings.max_video_bytes
    size = path.stat().st_size
    if size > cap:
        raise BadRequest(f"the {kind} is {size} bytes; at most {cap} are accepted")
    return kind, ext, media_type


def store(
    db: Engine, storage: Storage, owner: str, path: Path, settings: Settings
) -> tuple[str, float]:
    """Check and keep one uploaded file for `owner`; returns (storage key, expiry)."""
    _kind, ext, media_type = check_file(path, settings)
    key = f"{PREFIX}{owner}/{uuid.uuid4().hex}.{ext}"
    now = time.time()
    expires_at = now + settings.retention_seconds
    storage.put(key, path)
    with db.begin() as conn:
        conn.execute(
            uploads.insert().values(
                key=key,
                owner=owner,
                media_type=media_type,
                size=path.stat().st_size,
                created_at=now,
                expires_at=expires_at,
            )
        )
    return key, expires_at


def purge(db: Engine, storage: Storage, now: float | None = None) -> int:
    """Delete every upload past its retention (rows and objects); returns how many."""
    now = time.time() if now is None else now
    with db.begin() as conn:
        keys = [row.key for row in conn.execute(select(uploads.c.key).where(
            uploads.c.expires_at <= now))]  # fmt: skip
        if keys:
            conn.execute(delete(uploads).where(uploads.c.key.in_(keys)))
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # the row is gone already: log, and let the sweep go on
            log.exception("could not delete expired upload %s", key)
    return len(keys)


# --- recognising our own upload URLs ------------------------------------------------------


def own_upload_key(url: str, signer: UrlSigner) -> str | None:
    """The storage key of an upload URL this server signed, or None for any other URL.

    Raises ValueError when the signature is ours but the URL has expired."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or _MARKER not in parts.path:
        return None
    key = unquote(parts.path[parts.path.rindex(_MARKER) + len("/files/") :])
    query = parse_qs(parts.query)
    try:
        expires = int(query["expires"][0])
        signature = query["signature"][0]
    except (KeyError, IndexError, ValueError):
        return None
    expected = signer.signature(key, expires)
    if not key.startswith(PREFIX) or not hmac.compare_digest(
        signature.encode("utf-8", "surrogatepass"), expected.encode()
    ):
        return None
    if expires < time.time():
        raise ValueError("the uploaded file's URL has expired; upload it again")
    return key


def open_upload(
    url: str, dest: Path, signer: UrlSigner, storage: Storage, *, max_bytes: int
) -> Path | None:
    """Copy the upload `url` names to `dest` straight from storage and return `dest`, or
    None when `url` is not one of this server's upload URLs (then fetch it as usual).
    InputError when it is ours but expired, gone, or larger than `max_bytes`."""
    if _MARKER not in url:  # the cheap test first: most URLs are not ours
        return None
    try:
        key = own_upload_key(url, signer)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if key is None:
        return None
    size = 0
    try:
        with Path(dest).open("wb") as out:
            for chunk in storage.read(key):
                size += len(chunk)
                if size > max_bytes:
                    raise InputError(f"the uploaded file is larger than {max_bytes} bytes")
                out.write(chunk)
    except FileNotFoundError:
        Path(dest).unlink(missing_ok=True)
        raise InputError("the uploaded file no longer exists; upload it again") from None
    except BaseException:
        Path(dest).unlink(missing_ok=True)
        raise
    return Path(dest)


def accept_own_uploads(checker: UrlChecker, signer: UrlSigner) -> UrlChecker:
    """`checker`, letting through this server's own upload URLs (which usually point at a
    loopback or private address the ordinary check refuses) when they hold the right kind."""

    def check(url: str, kind: MediaKind) -> None:
        key = own_upload_key(url, signer)  # ValueError when expired: a 400
        if key is None:
            try:
                return checker(url, kind)
            except ValueError:
                if not _looks_like_an_upload(url):
                    raise
                # a file URL of ours with its signature or path changed or cut short:
                # its loopback address is not the news, the URL is
                raise ValueError(
                    "the file URL is invalid (not as this server signed it: changed or cut "
                    "short) or has expired; upload the file again and use the URL it answers"
                ) from None
        found = next(k for k, ext, _ in FORMATS.values() if key.endswith("." + ext))
        if found != kind:
            raise ValueError(f"the uploaded file is {_a(found)}, not {_a(kind)}")
        return None

    return check


def _looks_like_an_upload(url: str) -> bool:
    try:
        return _MARKER in urlsplit(url.strip()).path
    except ValueError:
        return False


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
