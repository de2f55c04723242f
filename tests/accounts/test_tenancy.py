"""Every request belongs to its account: another key's id is exactly as unknown as an id
that never existed, byte for byte, on every endpoint that takes an id."""

from __future__ import annotations

import time

import httpx

from tests.accounts.conftest import V6, issue_key, small_job

UNKNOWN = "00000000-0000-0000-0000-000000000000"


def _calls(base: str, rid: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"{base}/v2/requests/{rid}/status"),
        ("GET", f"{base}/v2/requests/{rid}"),
        ("GET", f"{base}/v1/requests/{rid}"),
        ("POST", f"{base}/v2/requests/{rid}/cancel"),
    ]


def _answer(method: str, url: str, key: str) -> tuple[int, bytes, dict[str, str]]:
    response = httpx.request(method, url, headers={"x-api-key": key})
    kept = {name: value for name, value in response.headers.items() if name != "date"}
    return response.status_code, response.content, kept


def _completed(server, key: str) -> dict:
    rid = httpx.post(
        f"{server.base_url}/v2/{V6}", json=small_job(), headers={"x-api-key": key}
    ).json()["request_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = httpx.get(f"{server.base_url}/v2/requests/{rid}", headers={"x-api-key": key})
        if result.json()["status"] == "COMPLETED":
            return result.json()
        time.sleep(0.1)
    raise AssertionError(f"{rid} did not complete")


def test_swapped_ids_answer_the_same_404_as_unknown_ones(backend, start_server):
    server = start_server()
    alice, bob = issue_key(server, credits=5), issue_key(server, credits=5)
    mine = {alice: _completed(server, alice), bob: _completed(server, bob)}
    for owner, intruder in ((alice, bob), (bob, alice)):
        rid = mine[owner]["request_id"]
        for (method, url), (_, unknown_url) in zip(
            _calls(server.base_url, rid), _calls(server.base_url, UNKNOWN), strict=True
        ):
            status, body, headers = _answer(method, url, intruder)
            assert status == 404, url
            unknown = _answer(method, unknown_url, intruder)
            # the same bytes, but for the id they name
            assert body.replace(rid.encode(), UNKNOWN.encode()) == unknown[1]
            assert headers == unknown[2]
            assert body == f'{{"error":"Request {rid} not found"}}'.encode()
        # the owner still sees its job, untouched by the intruder's cancel
        status, _, _ = _answer("GET", f"{server.base_url}/v2/requests/{rid}", owner)
        assert status == 200


def test_output_files_need_the_signed_url(backend, start_server):
    server = start_server()
    key = issue_key(server, credits=5)
    output = _completed(server, key)["output"]
    assert httpx.get(output).status_code == 200  # whoever holds the signed URL
    path = output.split("?")[0]
    assert httpx.get(path, headers={"x-api-key": issue_key(server)}).status_code == 400
    assert httpx.get(output.replace("signature=", "signature=0")).status_code == 403
