"""The completed webhook carries the manifest; a request served from the cache gets its
completed webhook too (and nothing else: nothing ran), signed like every other."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import FAKE_ENGINE, ServerProcess
from tests.webhooks.receiver import Receiver, iter_payloads

BODY = {"prompt": "a fox in the snow", "duration": 1, "quality": "360p", "seed": 9}


@pytest.fixture(scope="module")
def server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = serve(
        tmp_path_factory.mktemp("cache-webhooks"),
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_RESULT_CACHE="true",
        REELFORGE_WEBHOOK_RETRY_SECONDS="0.3",
    )
    try:
        yield process.start()
    finally:
        process.stop()


def test_the_completed_webhook_carries_the_manifest_and_a_hit_gets_one(server) -> None:
    secret = httpx.get(f"{server.base_url}/v1/webhooks/secret", headers=server.headers())
    with Receiver(secret.json()["secret"]) as receiver:
        ids = []
        for _ in range(2):
            body = {
                **BODY,
                "webhook": f"{receiver.url}/done",
                "webhook_events": ["start", "completed"],
            }
            answer = httpx.post(
                f"{server.base_url}/v2/pixverse-v6", json=body, headers=server.headers()
            )
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["request_id"])
            wanted = len(ids)
            receiver.wait_for(
                lambda requests, n=wanted: sum(r.event == "completed" for r in requests) == n
            )
        payloads = list(iter_payloads(receiver.wait_for(lambda requests: True)))
    ran = [p for p in payloads if p["request_id"] == ids[0]]
    hit = [p for p in payloads if p["request_id"] == ids[1]]
    assert [p["event"] for p in ran] == ["start", "completed"]
    assert [p["event"] for p in hit] == ["completed"]  # never claimed: no start
    assert ran[-1]["manifest"]["seed"] == 9
    assert ran[-1]["manifest"]["checkpoint"]["sha256"].startswith("sha256:")
    assert hit[0]["manifest"] == ran[-1]["manifest"]
    assert hit[0]["metrics"]["cached"] is True
    assert hit[0]["metrics"]["original_request_id"] == ids[0]
