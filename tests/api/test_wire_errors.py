"""Every status code the seeds promise, with the {"error": ...} body clients parse."""

from __future__ import annotations

import httpx
import pytest
from segmind import SegmindClient, SegmindError
from segmind.v2 import InferenceFailed

from tests.support.seeds import payloads

T2V = "pixverse-text2video"


def _post(server, path: str, json=None, content=None, headers=None):
    return httpx.post(
        f"{server.base_url}{path}",
        json=json,
        content=content,
        headers=server.headers() if headers is None else headers,
        timeout=30,
    )


def test_missing_and_invalid_key_are_401(server, media_server):
    body = payloads(media_server.url)[T2V]
    for headers in ({}, {"x-api-key": "wrong"}):
        response = _post(server, f"/v2/{T2V}", json=body, headers=headers)
        assert response.status_code == 401
        assert set(response.json()) == {"error"}
    assert httpx.get(f"{server.base_url}/v2/requests/x/status").status_code == 401


def test_sdk_sees_401_as_segmind_error(server):
    client = SegmindClient(api_key="wrong", base_url=f"{server.base_url}/v1")
    with pytest.raises(SegmindError) as caught:
        client.submit_async(T2V, prompt="x")
    assert caught.value.status == 401 and "API key" in caught.value.detail


def test_unknown_model_is_404(server):
    for path in ("/v2/no-such-model", "/v1/no-such-model"):
        response = _post(server, path, json={"prompt": "x"})
        assert response.status_code == 404
        assert response.json() == {"error": "Model no-such-model not found"}


def test_unknown_request_is_404_on_every_read(server):
    rid = "00000000-0000-0000-0000-000000000000"
    for path in (f"/v2/requests/{rid}/status", f"/v2/requests/{rid}", f"/v1/requests/{rid}"):
        response = httpx.get(f"{server.base_url}{path}", headers=server.headers())
        assert response.status_code == 404
        assert response.json() == {"error": f"Request {rid} not found"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x", "duration": 6}, "duration"),
        ({"prompt": "x", "quality": "4k"}, "quality"),
        ({"prompt": "x", "duration": 8, "motion_mode": "fast"}, "motion_mode"),
        ({"prompt": "x", "aspect_ratio": "2:1"}, "aspect_ratio"),
        ({"duration": 5}, "prompt"),
        ({"prompt": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(server, body, field):
    for path in (f"/v2/{T2V}", f"/v1/{T2V}"):
        response = _post(server, path, json=body)
        assert response.status_code == 400, response.text
        assert field in response.json()["error"]


def test_invalid_json_and_non_object_are_400(server):
    assert _post(server, f"/v2/{T2V}", content=b"{nope").status_code == 400
    response = _post(server, f"/v2/{T2V}", json=[1, 2])
    assert response.status_code == 400 and "JSON object" in response.json()["error"]


def test_extend_without_video_is_400(server):
    response = _post(server, "/v2/pixverse-5-extend", json={"prompt": "more"})
    assert response.status_code == 400
    assert "video_url" in response.json()["error"]


def test_failed_job_is_422_on_status_and_result(server, media_server):
    body = dict(
        payloads(media_server.url)["pixverse-5-video"], image_url=media_server.url("nope.png")
    )
    client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1")
    job = client.submit_async("pixverse-5-video", **body)
    with pytest.raises(InferenceFailed) as caught:
        job.wait(timeout=60, interval=0.2)
    assert "image_url" in caught.value.detail and "404" in caught.value.detail
    for url in (job.status_url, job.response_url):
        response = httpx.get(url, headers=server.headers())
        assert response.status_code == 422
        assert response.json()["status"] == "FAILED"
        assert "image_url" in response.json()["error"]
        assert "metrics" in response.json()
    sync = _post(server, "/v1/pixverse-5-video", json=body)
    assert sync.status_code == 422 and "image_url" in sync.json()["error"]


def test_tampered_or_missing_signature_is_refused(server, media_server):
    client = SegmindClient(api_key=server.key, base_url=f"{server.base_url}/v1", timeout=120)
    output = client.run(T2V, **payloads(media_server.url)[T2V])["output"]
    assert httpx.get(output).status_code == 200
    assert httpx.get(output.replace("signature=", "signature=0")).status_code == 403
    assert httpx.get(output.split("?")[0]).status_code == 400
    expired = output.replace("expires=", "expires=1")  # a different expiry breaks the HMAC
    assert httpx.get(expired).status_code == 403


def test_credits_endpoint_answers(server):
    response = httpx.get(f"{server.base_url}/v1/get-user-credits", headers=server.headers())
    assert response.status_code == 200
    assert set(response.json()) == {"credits", "free-credits"}


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a.png", "file:///etc/passwd", "not a url", "data:text/plain;base64,aGk="],
)
def test_unusable_media_url_is_400_before_any_job(server, url):
    response = _post(server, "/v2/pixverse-5-video", json={"prompt": "x", "image_url": url})
    assert response.status_code == 400
    assert response.json()["error"].startswith("image_url")
