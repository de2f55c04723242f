"""Checking an S3 presigned URL the way S3 itself does (AWS Signature V4, query form).

moto 5 lets any object URL carrying `Signature=` through without checking the signature
or its expiry, so the tests verify presigned URLs here, independently of obstore."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def refusal(url: str, secret_key: str, now: float) -> str | None:
    """Why S3 would refuse a GET of presigned `url` at `now` (epoch seconds), or None."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    signature = dict(params).get("X-Amz-Signature", "")
    signed = sorted((name, value) for name, value in params if name != "X-Amz-Signature")
    fields = dict(signed)
    _access_key, day, region, service, _ = fields["X-Amz-Credential"].split("/")
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in signed)
    canonical = "\n".join(
        ["GET", parts.path, query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            fields["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = _hmac(f"AWS4{secret_key}".encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    if not hmac.compare_digest(
        hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature
    ):
        return "SignatureDoesNotMatch"
    if now > signed_at(url) + int(fields["X-Amz-Expires"]):
        return "Request has expired"
    return None


def signed_at(url: str) -> float:
    """The X-Amz-Date of a presigned URL, as epoch seconds."""
    stamp = dict(parse_qsl(urlsplit(url).query))["X-Amz-Date"]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
