"""Signed, expiring URLs for stored files, so that a browser `<video>` or curl can fetch an
output without the API key. The signature is an HMAC of the key and its expiry."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path
from urllib.parse import quote


class UrlSigner:
    def __init__(self, secret: bytes):
        self._secret = secret

    def signature(self, key: str, expires: int) -> str:
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, base_url: str, key: str, expires: float) -> str:
        """Absolute URL of `key` under `base_url`, valid until `expires` (epoch seconds)."""
        expires_at = int(expires)
        signature = self.signature(key, expires_at)
        return f"{base_url}/files/{quote(key)}?expires={expires_at}&signature={signature}"

    def verify(self, key: str, expires: int, signature: str) -> bool:
        if expires < time.time():
            return False
        # as bytes: compare_digest refuses str with non-ASCII characters (a 500, found by
        # the schemathesis fuzz test)
        given = signature.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(self.signature(key, expires).encode(), given)


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, else one generated once and kept in the data directory
    (API replicas that share outputs must share REELFORGE_SIGNING_SECRET)."""
    if configured:
        return configured.encode()
    path = data_dir / "signing.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode()
