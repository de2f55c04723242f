"""GET /v1/requests and thumbnails on a real `reelforge serve` with the fast fake engine:
an account's requests newest first, paged with `after` to the end, owner-scoped; each
COMPLETED request with its mp4 and a JPEG of its first frame at the output's size, a
cancelled one with its error; a job without a thumbnail answers null; expiry deletes the
thumbnail with the mp4."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.server import FAKE_ENGINE, ServerProcess
from tests.support.worker_process import wait_for

V6 = "pixverse-v6"
T2V = "pixverse-text2video"  # no worker serves it here: its jobs stay QUEUED until cancelled
SMALL = {"prompt": "a lighthouse at night", "duration": 1, "quality": "360p"}


@pytest.fixture(scope="module")
def history_server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = serve(
        Path(tmp_path_factory.mktemp("history")),
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_WORKER_SLUGS=V6,
    )
    try:
        yield process.start()
    finally:
        process.stop()


def _key(server: ServerProcess, name: str) -> dict[str, str]:
    answer = httpx.post(
        f"{server.base_url}/v1/admin/keys",
        json={"name": name, "unlimited": True},
        headers=server.headers(),
    )
    assert answer.status_code == 200, answer.text
    return {"x-api-key": answer.json()["key"]}


def _submit(server: ServerProcess, key: dict[str, str], slug: str, body: dict[str, Any]) -> str:
    answer = httpx.post(f"{server.base_url}/v2/{slug}", json=body, headers=key)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["request_id"])


def _finished(server: ServerProcess, key: dict[str, str], request_id: str) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        body = httpx.get(f"{server.base_url}/v2/requests/{request_id}/status", headers=key).json()
        return body if body["status"] in ("COMPLETED", "FAILED") else None

    return wait_for(ended, 60, f"request {request_id} to end", interval=0.1)


def _page(server: ServerProcess, key: dict[str, str], **query: Any) -> httpx.Response:
    return httpx.get(f"{server.base_url}/v1/requests", params=query, headers=key)


def _everything(server: ServerProcess, key: dict[str, str], limit: int) -> list[list[str]]:
    """The ids of every page, following `next` to the end."""
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        answer = _page(server, key, limit=limit, **({"after": after} if after else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"requests", "next"}
        pages.append([item["request_id"] for item in body["requests"]])
        after = body["next"]
        if after is None:
            return pages
        assert after == pages[-1][-1]
        assert len(pages) < 10, "pagination does not end"


def test_history_is_newest_first_paged_owner_scoped_with_outputs_and_thumbnails(
    history_server: ServerProcess,
) -> None:
    server = history_server
    mine, theirs = _key(server, "history-a"), _key(server, "history-b")
    # 1. Three videos of mine (different sizes), and one cancelled while it waited
    made = []
    for quality, ratio in (("360p", "16:9"), ("360p", "9:16"), ("540p", "1:1")):
        body = {**SMALL, "quality": quality, "aspect_ratio": ratio}
        made.append(_submit(server, mine, V6, body))
        assert _finished(server, mine, made[-1])["status"] == "COMPLETED"
    cancelled = _submit(server, mine, T2V, {"prompt": "waves at dusk"})
    answer = httpx.post(f"{server.base_url}/v2/requests/{cancelled}/cancel", headers=mine)
    assert answer.json()["status"] == "FAILED", answer.text
    newest_first = [cancelled, *reversed(made)]
    # 2. Newest first, one page and in pages of 3 (`next` null at the end) and of 2
    assert _everything(server, mine, 20) == [newest_first]
    assert _everything(server, mine, 3) == [newest_first[:3], newest_first[3:]]
    assert _everything(server, mine, 2) == [newest_first[:2], newest_first[2:]]
    assert _page(server, mine).json()["next"] is None  # the default page holds them all
    # 3. What each item says
    items = {item["request_id"]: item for item in _page(server, mine).json()["requests"]}
    failed = items[cancelled]
    assert (failed["status"], failed["model"], failed["error"]) == (
        "FAILED", T2V, "cancelled by request"
    )  # fmt: skip
    assert "output" not in failed and "thumbnail" not in failed
    assert failed["finished_at"] >= failed["created_at"]
    for request_id in made:
        item = items[request_id]
        assert item["status"] == "COMPLETED" and item["model"] == V6
        assert (item["progress"], item["stage"]) == (1.0, "done")
        assert item["params"]["prompt"] == SMALL["prompt"]
        assert item["seed"] == item["params"]["seed"] and isinstance(item["seed"], int)
        assert item["cost"] > 0 and item["finished_at"] >= item["created_at"]
        video = item["video"]
        mp4 = httpx.get(item["output"])
        assert mp4.status_code == 200 and len(mp4.content) == video["file_size"]
        jpeg = httpx.get(item["thumbnail"])
        assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg"
        picture = Image.open(io.BytesIO(jpeg.content))
        assert picture.format == "JPEG"
        assert picture.size == (video["width"], video["height"])
        # the final body carries the same thumbnail; /status never carries the files
        result = httpx.get(f"{server.base_url}/v2/requests/{request_id}", headers=mine).json()
        assert (result["thumbnail"], result["output"]) == (item["thumbnail"], item["output"])
        state = httpx.get(f"{server.base_url}/v2/requests/{request_id}/status", headers=mine)
        assert "output" not in state.json() and "thumbnail" not in state.json()
    sizes = {(items[i]["video"]["width"], items[i]["video"]["height"]) for i in made}
    assert len(sizes) == 3
    # 4. Another account sees none of mine, and may not page from one of them
    assert _page(server, theirs).json() == {"requests": [], "next": None}
    refused = _page(server, theirs, after=made[0])
    assert refused.status_code == 400 and "after" in refused.json()["error"]


def test_bad_pages_are_400s_naming_the_parameter(history_server: ServerProcess) -> None:
    key = history_server.headers()
    for query, name in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"after": "00000000-0000-4000-8000-000000000000"}, "after"),
    ):
        answer = _page(history_server, key, **query)
        assert answer.status_code == 400, (query, answer.text)
        assert answer.json()["error"].startswith(name), answer.text
    assert _page(history_server, {}).status_code == 401
    # not a model called "requests": the path is GET only
    posted = httpx.post(f"{history_server.base_url}/v1/requests", headers=key)
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"


def test_a_request_without_a_stored_thumbnail_answers_null(history_server: ServerProcess) -> None:
    # as a request completed before thumbnails existed: its mp4 alone in storage
    server = history_server
    key = _key(server, "history-old")
    request_id = _submit(server, key, V6, SMALL)
    assert _finished(server, key, request_id)["status"] == "COMPLETED"
    stored = server.data_dir / "files" / "outputs" / request_id
    (stored / "1.jpg").unlink()
    result = httpx.get(f"{server.base_url}/v2/requests/{request_id}", headers=key)
    assert result.status_code == 200 and result.json()["thumbnail"] is None
    assert httpx.get(result.json()["output"]).status_code == 200
    [item] = _page(server, key).json()["requests"]
    assert item["thumbnail"] is None and item["output"] == result.json()["output"]


def test_expiry_deletes_the_thumbnail_with_the_mp4(serve, tmp_path: Path) -> None:
    server = serve(
        tmp_path / "data",
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_RETENTION_SECONDS="10",  # the job must finish first on a loaded machine
        REELFORGE_REAP_SECONDS="0.3",
    ).start()
    try:
        request_id = _submit(server, server.headers(), V6, SMALL)
        assert _finished(server, server.headers(), request_id)["status"] == "COMPLETED"
        folder = server.data_dir / "files" / "outputs" / request_id
        assert sorted(path.name for path in folder.iterdir()) == ["1.jpg", "1.mp4"]
        wait_for(lambda: not folder.exists(), 30, "the sweep to delete the request's files")
        assert _page(server, server.headers()).json() == {"requests": [], "next": None}
    finally:
        server.stop()
