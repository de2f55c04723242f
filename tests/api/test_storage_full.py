"""A full disk (API side): submits and uploads are refused with 507 and a clear message,
never a bare 500; reads go on; and once space is freed the same app accepts work again.

Two ways to be full: free space below REELFORGE_MIN_FREE_BYTES (checked before accepting
work), and a disk that really is full (SQLite's "database or disk is full", ENOSPC), on a
tiny tmpfs mounted by the test (root only; skipped, saying so, where mount fails; failed
on CI).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.settings import Settings
from tests.hostile.media import good_png

KEY = {"x-api-key": "admin-key"}
T2V = "pixverse-text2video"
UPLOAD = {"data_urls": [f"data:image/png;base64,{base64.b64encode(good_png()).decode()}"]}


def _app(data_dir: Path, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(data_dir=data_dir, admin_key="admin-key", **settings)))


def test_free_space_below_the_setting_refuses_work_with_507(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    with _app(tmp_path, min_free_bytes=free * 2) as client:
        for path, body in ((f"/v2/{T2V}", {"prompt": "x"}), (f"/v1/{T2V}", {"prompt": "x"}),
                           ("/v1/files", UPLOAD), ("/upload-asset", UPLOAD)):  # fmt: skip
            answer = client.post(path, json=body, headers=KEY)
            assert answer.status_code == 507, (path, answer.text)
            message = answer.json()["error"]
            assert "free" in message and "REELFORGE_MIN_FREE_BYTES" in message, message
        # reads go on
        assert client.get("/v1/get-user-credits", headers=KEY).status_code == 200
        # the caller is still checked first
        assert client.post(f"/v2/{T2V}", json={"prompt": "x"}).status_code == 401


def test_free_space_check_passes_when_there_is_room(tmp_path: Path) -> None:
    with _app(tmp_path, min_free_bytes=1) as client:
        assert client.post(f"/v2/{T2V}", json={"prompt": "x"}, headers=KEY).status_code == 200


@pytest.fixture
def tiny_disk(small_disk) -> Path:
    """A 16 MB tmpfs, unmounted afterwards."""
    return small_disk("16m")


def _fill(disk: Path) -> Path:
    """Write a file until the disk has no room left; returns it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (65536, 512, 1):  # down to the last scraps
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    return filler


def test_a_full_disk_is_507_and_work_resumes_once_space_is_freed(tiny_disk: Path) -> None:
    with _app(tiny_disk, min_free_bytes=0) as client:  # only what the disk itself says
        assert client.post(f"/v2/{T2V}", json={"prompt": "x"}, headers=KEY).status_code == 200
        filler = _fill(tiny_disk)
        with pytest.raises(OSError) as caught:
            (tiny_disk / "probe").write_bytes(b"\0" * 65536)
        assert caught.value.errno == errno.ENOSPC
        answers = [client.post("/v1/files", json=UPLOAD, headers=KEY)]
        # SQLite may find room in its write-ahead log for a few rows first
        for index in range(200):
            answer = client.post(f"/v2/{T2V}", json={"prompt": "x" * 1900, "seed": index},
                                 headers=KEY)  # fmt: skip
            answers.append(answer)
            if answer.status_code != 200:
                break
        refused = [a for a in answers if a.status_code != 200]
        assert refused, "every submit was accepted on a full disk"
        for answer in refused:
            assert answer.status_code == 507, answer.text
            assert "storage is full" in answer.json()["error"], answer.text
        assert answers[0].status_code == 507  # the upload: ENOSPC in storage
        # reads still work on a full disk
        assert client.get("/v1/get-user-credits", headers=KEY).status_code == 200
        filler.unlink()
        (tiny_disk / "probe").unlink(missing_ok=True)
        assert client.post(f"/v2/{T2V}", json={"prompt": "x"}, headers=KEY).status_code == 200
        assert client.post("/v1/files", json=UPLOAD, headers=KEY).status_code == 200


def test_the_default_setting_refuses_work_on_a_nearly_full_disk(tiny_disk: Path) -> None:
    with _app(tiny_disk) as client:  # 16 MB free is below the default minimum
        answer = client.post(f"/v2/{T2V}", json={"prompt": "x"}, headers=KEY)
        assert answer.status_code == 507, answer.text
