"""gs:// and az:// presigned URLs, built offline from fake credentials. There is no
emulator for these here, so the URLs are inspected, never fetched: these tests show that
the stores sign locally, under the prefix, until expires_at -- not that the clouds accept."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reelforge.storage import ObjectStorage

KEY = "outputs/job-1/1.mp4"


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_azure_presigns_a_sas_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "reelforgetest")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", base64.b64encode(b"k" * 64).decode())
    storage = ObjectStorage.from_url("az://media/reelforge")
    expires_at = time.time() + 300
    url = storage.presigned_url(KEY, expires_at)
    assert url is not None
    assert url.startswith(f"https://reelforgetest.blob.core.windows.net/media/reelforge/{KEY}?")
    query = _query(url)
    assert query["sp"] == "r" and query["sig"]  # read-only
    ends = datetime.fromisoformat(query["se"]).timestamp()
    assert expires_at - 2 <= ends <= expires_at


def test_gcs_presigns_a_v4_url(monkeypatch: pytest.MonkeyPatch) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = {
        "type": "service_account",
        "client_email": "reelforge@test.iam.gserviceaccount.com",
        "private_key": pem,
        "private_key_id": "test",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    monkeypatch.setenv("GOOGLE_SERVICE_ACCOUNT_KEY", json.dumps(account))
    storage = ObjectStorage.from_url("gs://media/reelforge")
    expires_at = time.time() + 300
    url = storage.presigned_url(KEY, expires_at)
    assert url is not None
    assert url.startswith(f"https://storage.googleapis.com/media/reelforge/{KEY}?")
    query = _query(url)
    assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256" and query["X-Goog-Signature"]
    assert 298 <= int(query["X-Goog-Expires"]) <= 300
