"""Objects in S3 (or any S3-compatible server such as MinIO), Google Cloud Storage or Azure
Blob Storage, through obstore. Clients fetch outputs straight from the store with URLs the
store presigns, so video bytes never pass through the API."""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import BaseError
from obstore.store import AzureStore, GCSStore, S3Store

from reelforge.storage.base import READ_CHUNK_BYTES, check_key

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Config

log = logging.getLogger("reelforge.storage")

SCHEMES = ("s3", "gs", "az")
# S3 SigV4 and GCS V4 presigned URLs live at most 7 days; longer ones fall back to
# Reelforge-signed URLs, which last as long as the job is retained
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
MIN_PRESIGN_SECONDS = 1
PRESIGN_CACHE_SIZE = 4096  # URLs remembered so that every poll of a job answers the same one


class ObjectStorage:
    """Objects under an `s3://bucket/prefix`, `gs://bucket/prefix` or `az://container/prefix`
    URL. Credentials come from each cloud's standard environment (AWS_*, GOOGLE_*,
    AZURE_STORAGE_*), never from Reelforge's own settings."""

    def __init__(self, store: S3Store | GCSStore | AzureStore, url: str):
        self.store = store
        self.url = url
        self._warned_unsigned = False
        self._presigned: OrderedDict[tuple[str, float], str] = OrderedDict()
        self._presigned_lock = threading.Lock()  # routes run in a thread pool

    @classmethod
    def from_url(
        cls, url: str, *, s3_endpoint: str | None = None, s3_region: str | None = None
    ) -> ObjectStorage:
        """Open the store at `url`; `s3_*` apply to `s3://` only. ValueError when the URL or
        the environment's configuration is unusable."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.netloc:
            raise ValueError(f"not an object store URL: {url!r} (want s3://, gs:// or az://)")
        try:
            return cls(_open(parts.scheme, url, s3_endpoint, s3_region), url)
        except BaseError as exc:
            # obstore's messages carry a multi-line debug dump; the first line says it
            reason = str(exc).splitlines()[0]
            raise ValueError(f"cannot open storage {url!r}: {reason}") from None

    def __repr__(self) -> str:
        return f"ObjectStorage({self.url!r})"

    def put(self, key: str, source: Path) -> None:
        """Upload `source`; a single PUT or a multipart upload, both invisible until whole."""
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        # the Content-Type lets a browser play a presigned URL in a <video> element
        obstore.put(self.store, check_key(key), source, attributes={"Content-Type": content_type})

    def delete(self, key: str) -> None:
        # S3 answers success for a missing key, GCS answers 404
        with contextlib.suppress(FileNotFoundError):
            obstore.delete(self.store, check_key(key))

    def read(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; the GET is sent now, so a missing key raises
        FileNotFoundError here rather than in the middle of an HTTP answer."""
        result = obstore.get(self.store, check_key(key))
        return (bytes(chunk) for chunk in result.stream(min_chunk_size=READ_CHUNK_BYTES))

    def local_path(self, key: str) -> Path | None:
        """Always None: the objects are remote."""
        check_key(key)
        return None

    def presigned_url(self, key: str, expires_at: float) -> str | None:
        """The store's own signed GET URL, valid until `expires_at` (rounded down to the
        second); None when it is already past, beyond the 7-day presign limit, or the
        credentials cannot sign (e.g. GCS user credentials without a service account key).
        The same (key, expires_at) gets the same URL from this process while remembered:
        a signature embeds its signing time, and clients expect a job's output URL to stay put."""
        check_key(key)
        seconds = int(expires_at - time.time())
        if not MIN_PRESIGN_SECONDS <= seconds <= MAX_PRESIGN_SECONDS:
            return None
        with self._presigned_lock:
            if (url := self._presigned.get((key, expires_at))) is not None:
                self._presigned.move_to_end((key, expires_at))
                return url
        try:
            url = obstore.sign(self.store, "GET", key, timedelta(seconds=seconds))
        except BaseError as exc:
            if not self._warned_unsigned:  # once: output URLs are asked for on every poll
                self._warned_unsigned = True
                log.warning(
                    "cannot presign URLs on %s (%s); the API will serve outputs itself",
                    self.url,
                    str(exc).splitlines()[0],
                )
            return None
        with self._presigned_lock:
            self._presigned[(key, expires_at)] = url
            if len(self._presigned) > PRESIGN_CACHE_SIZE:
                self._presigned.popitem(last=False)
        return url


def _open(
    scheme: str, url: str, s3_endpoint: str | None, s3_region: str | None
) -> S3Store | GCSStore | AzureStore:
    if scheme == "gs":
        return GCSStore.from_url(url)
    if scheme == "az":
        return AzureStore.from_url(url)
    config: S3Config = {}
    if s3_endpoint:
        config["endpoint"] = s3_endpoint
    if s3_region:
        config["region"] = s3_region
    endpoint = s3_endpoint or os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT")
    # a plain-HTTP endpoint (a local MinIO-style server) is a deliberate choice: allow it
    # (left unset otherwise, so that AWS_ALLOW_HTTP in the environment still applies)
    client: ClientConfig | None = None
    if endpoint and endpoint.startswith("http://"):
        client = {"allow_http": True}
    return S3Store.from_url(url, config=config, client_options=client)
