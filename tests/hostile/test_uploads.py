"""POST /v1/files and /upload-asset: uploads stored under the caller's account, answered
as URLs usable in any endpoint, read by the worker from storage (not over HTTP), purged
after the retention; and `reelforge upload`."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from reelforge import uploads
from reelforge.api.app import create_app, reap_expired
from reelforge.errors import InputError
from reelforge.settings import Settings
from reelforge.storage import UrlSigner, load_secret, open_storage
from reelforge.worker.inputs import Inputs
from tests.hostile.media import good_png, png_bomb
from tests.support.server import FAKE_ENGINE, REPO

KEY = {"x-api-key": "admin-key"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # private addresses NOT allowed: uploads must work without that setting
    (tmp_path / "data").mkdir()
    return Settings(data_dir=tmp_path / "data", admin_key="admin-key", max_image_bytes=500_000)


@pytest.fixture
def client(settings: Settings):
    with TestClient(create_app(settings)) as client:
        yield client


def _data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def test_json_data_urls_as_the_sdk_sends_them(client, settings, tmp_path: Path) -> None:
    for path in ("/v1/files", "/upload-asset"):
        answer = client.post(path, json={"data_urls": [_data_url(good_png())]}, headers=KEY)
        assert answer.status_code == 200, answer.text
        (url,) = answer.json()["file_urls"]
        assert "/files/uploads/admin/" in url and url.endswith(url[-64:])
        assert client.get(url).content == good_png()  # any client may GET it


def _inputs(settings) -> Inputs:
    """The worker's input reader, built the way the worker builds it."""
    signer = UrlSigner(load_secret(settings.signing_secret, settings.data_dir))
    return Inputs(settings, signer, open_storage(settings))


def test_multipart_upload_and_use_in_a_job(client, settings, tmp_path: Path) -> None:
    answer = client.post("/v1/files", headers=KEY, files=[
        ("file", ("a.png", good_png(), "image/png")),
        ("file", ("b.png", good_png(), "application/octet-stream")),
    ])  # fmt: skip
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["file_urls"]
    assert first != second
    # usable at submit, though it points at a loopback host the URL check refuses
    submit = client.post("/v2/pixverse-v6", json={"prompt": "x", "image_url": first}, headers=KEY)
    assert submit.status_code == 200, submit.text
    # the worker reads it from storage: no HTTP (nothing listens on testserver)
    work = tmp_path / "work"
    work.mkdir()
    image = _inputs(settings).ingest_all({"image_url": "image"}, {"image_url": first}, work)[
        "image_url"
    ]
    assert image.size == (320, 180)


def test_an_upload_of_the_wrong_kind_is_a_400_at_submit(client) -> None:
    (url,) = client.post("/v1/files", json={"data_urls": [_data_url(good_png())]},
                         headers=KEY).json()["file_urls"]  # fmt: skip
    answer = client.post("/v2/pixverse-5-extend", json={"prompt": "x", "video_url": url},
                         headers=KEY)  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"] == "video_url: the uploaded file is an image, not a video"


def test_a_forged_upload_url_is_not_read_from_storage(client, settings, tmp_path: Path) -> None:
    (url,) = client.post("/v1/files", json={"data_urls": [_data_url(good_png())]},
                         headers=KEY).json()["file_urls"]  # fmt: skip
    forged = url[:-8] + "00000000"
    inputs = _inputs(settings)
    assert (
        uploads.open_upload(forged, tmp_path / "f", inputs.signer, inputs.storage, max_bytes=10**6)
        is None
    )
    with pytest.raises(InputError, match="loopback host testserver|could not"):
        inputs.ingest_all({"image_url": "image"}, {"image_url": forged.replace("testserver",
                          "127.0.0.1:9")}, tmp_path)  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"data_urls": ["data:text/plain,hello"]}, r"data_urls\[0\]: .*image or a video"),
        ({"data_urls": ["https://example.com/a.png"]}, r"data_urls\[0\]: must be a data: URL"),
        ({"data_urls": [_data_url(b"GIF89a" + b"\0" * 20)]}, r"GIF is not accepted"),
        ({"data_urls": [_data_url(b"\0" * 600_000)]}, r"data_urls\[0\]: the image|unrecognised"),
        ({"data_urls": []}, "data_urls"),
        ({"files": 1}, "data_urls"),
        ({"data_urls": [_data_url(good_png())] * 11}, "at most 10"),
    ],
)
def test_bad_uploads_are_400(client, body, message: str) -> None:
    answer = client.post("/v1/files", json=body, headers=KEY)
    assert answer.status_code == 400, answer.text
    assert re.search(message, answer.json()["error"]), answer.json()


def test_an_image_over_its_cap_is_refused(client) -> None:
    big = png_bomb(3000) + b"\0" * 600_000  # a PNG by its signature, over 500 kB
    answer = client.post("/v1/files", files={"file": ("big.png", big)}, headers=KEY)
    assert answer.status_code == 400
    assert "at most 500000" in answer.json()["error"]


def test_a_body_past_the_cap_is_413(client, settings) -> None:
    limit = max(settings.max_image_bytes, settings.max_video_bytes) * 4 // 3 + 1_000_000
    answer = client.post("/v1/files", content=b"{" * 10, headers={**KEY, "content-length":
                         str(limit + 1), "content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 413


def test_uploads_need_a_key(client) -> None:
    assert client.post("/v1/files", json={"data_urls": []}).status_code == 401


def test_expired_uploads_are_purged(client, settings) -> None:
    (url,) = client.post("/v1/files", json={"data_urls": [_data_url(good_png())]},
                         headers=KEY).json()["file_urls"]  # fmt: skip
    services = client.app.state.services
    key = url.split("/files/", 1)[1].split("?", 1)[0]
    assert services.storage.local_path(key).is_file()
    assert uploads.purge(services.db, services.storage, time.time()) == 0
    assert uploads.purge(services.db, services.storage,
                         time.time() + settings.retention_seconds + 1) == 1  # fmt: skip
    assert not services.storage.local_path(key).is_file()
    reap_expired(services)  # the sweep calls purge: runs cleanly with nothing left


def test_cli_upload_and_a_job_on_a_real_server(serve, tmp_path: Path) -> None:
    server = serve(
        tmp_path / "srv", REELFORGE_ENGINE=FAKE_ENGINE, REELFORGE_ALLOW_PRIVATE_URLS="false"
    ).start()
    try:
        picture = tmp_path / "cat.png"
        picture.write_bytes(good_png())
        done = subprocess.run(
            [sys.executable, "-m", "reelforge", "upload", str(picture), "--url", server.base_url,
             "--key", server.key],
            capture_output=True, text=True, cwd=REPO, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        url = done.stdout.strip()
        headers = {"x-api-key": server.key}
        body = {"prompt": "a cat", "image_url": url, "quality": "360p"}
        job = httpx.post(f"{server.base_url}/v2/pixverse-v6", headers=headers, json=body).json()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = httpx.get(job["status_url"], headers=headers).json()
            if status["status"] in ("COMPLETED", "FAILED"):
                break
            time.sleep(0.2)
        assert status["status"] == "COMPLETED", status
    finally:
        server.stop()


@pytest.mark.parametrize("change", ["signature", "truncated", "key"])
def test_a_tampered_upload_url_is_refused_as_an_invalid_file_url(client, change: str) -> None:
    """Issue 22: a tampered or truncated upload URL of this server was refused with "URL
    points to a loopback address 127.0.0.1", which sent the user looking at the network."""
    (url,) = client.post("/v1/files", json={"data_urls": [_data_url(good_png())]},
                         headers=KEY).json()["file_urls"]  # fmt: skip
    url = url.replace("testserver", "127.0.0.1:8000")  # where a local server's URLs point
    tampered = {
        "signature": url[:-8] + "00000000",
        "truncated": url.split("&")[0],
        "key": url.replace(".png", "x.png"),
    }[change]
    answer = client.post("/v2/pixverse-v6", json={"prompt": "x", "image_url": tampered},
                         headers=KEY)  # fmt: skip
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert message.startswith("image_url: the file URL is invalid"), message
    assert "loopback" not in message and "upload the file again" in message
