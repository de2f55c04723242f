"""The OpenAI Videos API on a real `reelforge serve` (the fast stand-in engine), driven
through the unmodified official `openai` SDK: create and poll, download the mp4 (opened
with PyAV: exact size, and exactly `seconds` long: 24 frames a second, the sound as
long), its thumbnail and a spritesheet, list and paginate, remix, extend (the mp4 itself,
by id in the multipart, by id as JSON), delete, image to video, errors in OpenAI's format
naming the field, one request seen through both APIs, credits charged as on the Pixverse
routes, and another key seeing none of it; on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import openai
import pytest
from openai.types import Video
from PIL import Image

from tests.support.postgres import private_schema, require_postgres
from tests.support.server import FAKE_ENGINE, ServerProcess

SMALL = "256x144"  # the engine makes any even size: the tests that need no SDK size use it
POLL_MS = 100
AAC_FRAME_SECONDS = 1024 / 48000  # the encoder's sound ends on a whole AAC frame

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # "the Sora API is ..."


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def openai_server(
    serve, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with contextlib.ExitStack() as stack:
        env = {"REELFORGE_ENGINE": FAKE_ENGINE}
        if request.param == "postgresql":
            require_postgres()
            env["REELFORGE_DATABASE_URL"] = stack.enter_context(private_schema("openai"))
        process = serve(Path(tmp_path_factory.mktemp("openai")), **env)
        stack.callback(process.stop)
        yield process.start()


def _new_key(server: ServerProcess, name: str, **grant: Any) -> str:
    answer = httpx.post(
        f"{server.base_url}/v1/admin/keys",
        json={"name": name, **(grant or {"unlimited": True})},
        headers=server.headers(),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["key"])


def _client(server: ServerProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{server.base_url}/v1", timeout=60, max_retries=0)


@pytest.fixture(scope="module")
def client(openai_server: ServerProcess) -> openai.OpenAI:
    return _client(openai_server, _new_key(openai_server, "sora-user"))


@pytest.fixture(scope="module")
def stranger(openai_server: ServerProcess) -> openai.OpenAI:
    return _client(openai_server, _new_key(openai_server, "someone-else"))


@pytest.fixture(scope="module")
def made(client: openai.OpenAI) -> Video:
    """One video at an SDK size and length, made with create_and_poll."""
    video = client.videos.create_and_poll(
        prompt="a red fox runs through the snow",
        model="sora-2",
        size="1280x720",
        seconds="4",
        poll_interval_ms=POLL_MS,
    )
    assert video.status == "completed", video.error
    return video


def _wait(client: openai.OpenAI, video: Video) -> Video:
    done = client.videos.poll(video.id, poll_interval_ms=POLL_MS)
    assert done.status == "completed", done.error
    return done


def _probe(data: bytes, tmp_path: Path) -> tuple[int, int, int, float]:
    """(width, height, frames, seconds) of the mp4, as PyAV reads it; its sound, when it
    has any, must last as long (within the AAC frame the encoder ends on)."""
    path = tmp_path / "video.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        duration = float(stream.duration * stream.time_base)
        if container.streams.audio:
            container.seek(0)
            sound = container.streams.audio[0]
            samples = sum(frame.samples for frame in container.decode(sound))
            assert abs(samples / sound.sample_rate - duration) <= AAC_FRAME_SECONDS
        return stream.codec_context.width, stream.codec_context.height, frames, duration


def test_create_and_poll_then_download_the_mp4_thumbnail_and_spritesheet(
    client: openai.OpenAI, made: Video, tmp_path: Path
) -> None:
    assert made.object == "video" and made.model == "sora-2"
    assert (made.size, made.seconds, made.progress) == ("1280x720", "4", 100)
    assert made.prompt == "a red fox runs through the snow"
    assert made.completed_at is not None and made.completed_at >= made.created_at
    assert made.expires_at is not None and made.expires_at > made.created_at
    assert made.error is None and made.remixed_from_video_id is None
    # the mp4: exactly the size and the length asked for, 4 s at 24 fps (96 frames kept of
    # LTX-2's 24 x 4 + 1), its sound as long
    mp4 = client.videos.download_content(made.id).read()
    width, height, frames, duration = _probe(mp4, tmp_path)
    assert (width, height, frames) == (1280, 720, 96)
    assert duration == pytest.approx(4.0, abs=1e-6)
    thumbnail = Image.open(
        io.BytesIO(client.videos.download_content(made.id, variant="thumbnail").read())
    )
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (1280, 720))
    sheet = Image.open(
        io.BytesIO(client.videos.download_content(made.id, variant="spritesheet").read())
    )
    assert sheet.format == "JPEG" and sheet.size == (5 * 256, 5 * 144)  # 25 frames, 5 x 5


def test_a_portrait_sdk_size_is_served_exactly(
    request: pytest.FixtureRequest, client: openai.OpenAI, tmp_path: Path
) -> None:
    if request.node.callspec.params["openai_server"] != "sqlite":
        pytest.skip("the size is the engine's and the encoder's: one database shows it")
    video = client.videos.create_and_poll(
        prompt="rain on a window", size="1024x1792", seconds="4", poll_interval_ms=POLL_MS
    )
    assert (video.status, video.size, video.seconds) == ("completed", "1024x1792", "4")
    width, height, frames, _ = _probe(client.videos.download_content(video.id).read(), tmp_path)
    assert (width, height, frames) == (1024, 1792, 96)


def test_one_request_answers_through_both_apis(
    openai_server: ServerProcess, client: openai.OpenAI, made: Video, tmp_path: Path
) -> None:
    key = {"x-api-key": client.api_key}
    # the OpenAI video at the Pixverse paths
    answer = httpx.get(f"{openai_server.base_url}/v2/requests/{made.id}", headers=key)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "COMPLETED"
    assert (result["video"]["width"], result["video"]["height"]) == (1280, 720)
    assert httpx.get(result["output"]).content == client.videos.download_content(made.id).read()
    # a Pixverse request as a Video
    submitted = httpx.post(
        f"{openai_server.base_url}/v2/pixverse-v6",
        json={"prompt": "a lighthouse", "duration": 1, "quality": "360p"},
        headers=key,
    )
    assert submitted.status_code == 200, submitted.text
    request_id = submitted.json()["request_id"]
    video = client.videos.poll(request_id, poll_interval_ms=POLL_MS)
    assert (video.status, video.model, video.size, video.seconds) == (
        "completed",
        "pixverse-v6",
        "640x360",
        "1",
    )
    assert video.prompt == "a lighthouse"
    # and keeps the Pixverse length: LTX-2's 24 x 1 + 1 frames
    result = httpx.get(f"{openai_server.base_url}/v2/requests/{request_id}", headers=key).json()
    assert _probe(httpx.get(result["output"]).content, tmp_path)[2] == 25


def test_credits_are_held_and_charged_as_on_the_pixverse_routes(
    openai_server: ServerProcess,
) -> None:
    key = _new_key(openai_server, "paying", credits=1.0)
    client = _client(openai_server, key)
    video = client.videos.create_and_poll(
        prompt="a paper boat", size=SMALL, seconds="2", poll_interval_ms=POLL_MS
    )
    assert video.status == "completed"
    headers = {"x-api-key": key}
    result = httpx.get(f"{openai_server.base_url}/v2/requests/{video.id}", headers=headers).json()
    price = round(256 * 144 / 1e6 * 2 * 0.12, 4)  # endpoints/pricing.py at exactly 256x144
    assert result["metrics"]["cost"] == pytest.approx(price)
    balance = httpx.get(f"{openai_server.base_url}/v1/get-user-credits", headers=headers).json()
    assert balance["credits"] == pytest.approx(1.0 - price)
    # a price past the balance: OpenAI's insufficient_quota, and no job
    with pytest.raises(openai.RateLimitError) as refused:
        client.videos.create(prompt="a long one", size="1792x1024", seconds="12")
    assert refused.value.code == "insufficient_quota"
    assert [v.id for v in client.videos.list()] == [video.id]


def test_list_paginates_both_ways(openai_server: ServerProcess) -> None:
    client = _client(openai_server, _new_key(openai_server, "lister"))
    made = [
        client.videos.create(prompt=f"scene {index}", size=SMALL, seconds="1").id
        for index in range(5)
    ]
    first = client.videos.list(limit=2)
    assert [v.id for v in first.data] == made[::-1][:2] and first.has_more is True
    assert [v.id for v in client.videos.list(limit=2)] == made[::-1]  # auto-paging
    oldest = client.videos.list(limit=2, order="asc")
    assert [v.id for v in oldest.data] == made[:2]
    assert [v.id for v in client.videos.list(limit=3, order="asc")] == made
    last = client.videos.list(limit=2, after=made[1], order="desc")
    assert [v.id for v in last.data] == [made[0]] and last.has_more is False
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.list(limit=0)
    assert bad.value.param == "limit"
    for video_id in made:
        client.videos.poll(video_id, poll_interval_ms=POLL_MS)


def test_remix_keeps_the_settings_with_a_new_prompt(
    client: openai.OpenAI, made: Video, tmp_path: Path
) -> None:
    remix = _wait(client, client.videos.remix(made.id, prompt="the fox, now at night"))
    assert remix.id != made.id and remix.remixed_from_video_id == made.id
    assert (remix.size, remix.seconds, remix.model) == (made.size, made.seconds, made.model)
    assert remix.prompt == "the fox, now at night"
    width, height, frames, _ = _probe(client.videos.download_content(remix.id).read(), tmp_path)
    assert (width, height, frames) == (1280, 720, 96)


def test_extend_by_file_by_multipart_id_and_by_json_id(
    openai_server: ServerProcess, client: openai.OpenAI, tmp_path: Path
) -> None:
    source = client.videos.create_and_poll(
        prompt="a train leaves", size=SMALL, seconds="2", poll_interval_ms=POLL_MS
    )
    mp4 = client.videos.download_content(source.id).read()
    # 1. the mp4 itself, as openai 3.51.0 sends a file
    by_file = _wait(
        client,
        client.videos.extend(
            prompt="it enters a tunnel", seconds="4", video=("source.mp4", mp4, "video/mp4")
        ),
    )
    assert (by_file.size, by_file.seconds) == (SMALL, "6")  # the stitched whole
    width, height, frames, duration = _probe(
        client.videos.download_content(by_file.id).read(), tmp_path
    )
    assert (width, height, frames) == (256, 144, 2 * 24 + 4 * 24)  # the input, then 4 s more
    assert duration == pytest.approx(6.0, abs=1e-6)
    # 2. by id: the SDK refuses video={"id": ...} (a file to it); with video omitted,
    #    extra_body sends the id as the multipart field video[id]
    by_id = client.videos.extend(
        prompt="and out again",
        seconds="8",
        video=openai.omit,  # type: ignore[arg-type]
        extra_body={"video": {"id": source.id}},
    )
    by_id = _wait(client, by_id)
    assert (by_id.size, by_id.seconds, by_id.model) == (SMALL, "10", "sora-2")
    # 3. by id as JSON
    as_json = httpx.post(
        f"{openai_server.base_url}/v1/videos/extensions",
        json={"prompt": "over a bridge", "seconds": "4", "video": {"id": source.id}},
        headers={"Authorization": f"Bearer {client.api_key}"},
    )
    assert as_json.status_code == 200, as_json.text
    done = client.videos.poll(as_json.json()["id"], poll_interval_ms=POLL_MS)
    assert (done.status, done.seconds) == ("completed", "6")
    # an unfinished or unknown video cannot be extended
    with pytest.raises(openai.NotFoundError):
        client.post(
            "/videos/extensions",
            cast_to=Video,
            body={"prompt": "x", "seconds": "4", "video": {"id": "no-such-video"}},
        )


def test_image_to_video_from_an_input_reference(client: openai.OpenAI, tmp_path: Path) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (320, 180), (200, 40, 40)).save(picture, format="PNG")
    video = client.videos.create_and_poll(
        prompt="the red wall starts to glow",
        input_reference=("wall.png", picture.getvalue(), "image/png"),
        size=SMALL,
        seconds="1",
        poll_interval_ms=POLL_MS,
    )
    assert (video.status, video.size, video.seconds) == ("completed", SMALL, "1")
    width, height, frames, _ = _probe(client.videos.download_content(video.id).read(), tmp_path)
    assert (width, height, frames) == (256, 144, 24)
    with pytest.raises(openai.BadRequestError) as not_an_image:
        client.videos.create(prompt="x", input_reference=("a.txt", b"hello", "text/plain"))
    assert not_an_image.value.param == "input_reference"


@pytest.mark.parametrize(
    ("fields", "param", "words"),
    [
        ({"size": "1000x1000x3"}, "size", "720x1280"),
        ({"size": "721x1280"}, "size", "even"),
        ({"size": "4000x4000"}, "size", "1920"),
        ({"seconds": "30"}, "seconds", "1 to 15"),
        ({"seconds": "four"}, "seconds", "4, 8, 12"),
        ({"model": "sora-3"}, "model", "sora-2-pro"),
        ({"prompt": "  "}, "prompt", "empty"),
        ({"colour": "red"}, "colour", "unknown"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(
    client: openai.OpenAI, fields: dict[str, str], param: str, words: str
) -> None:
    body = {"prompt": "a cat", **fields}
    with pytest.raises(openai.BadRequestError) as bad:
        client.post("/videos", cast_to=Video, body=body, files=[],
                    options={"headers": {"Content-Type": "multipart/form-data"}})  # fmt: skip
    error = bad.value.body
    assert isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}
    assert bad.value.param == param and error["type"] == "invalid_request_error"
    assert words in error["message"] and error["message"].startswith(param)


def test_the_sdk_size_check_and_edits(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.videos.create(prompt="a cat", size="999x999")  # type: ignore[arg-type]
    assert bad.value.param == "size" and "1024x1792" in bad.value.message
    with pytest.raises(openai.BadRequestError) as edits:
        client.videos.edit(prompt="make it blue", video=("v.mp4", b"x", "video/mp4"))
    assert edits.value.code == "unsupported" and "remix" in edits.value.message


def test_delete_then_404_in_openai_format(
    openai_server: ServerProcess, client: openai.OpenAI
) -> None:
    video = client.videos.create_and_poll(
        prompt="a short one", size=SMALL, seconds="1", poll_interval_ms=POLL_MS
    )
    url = str(client.videos.retrieve(video.id).id)
    deleted = client.videos.delete(video.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (url, True, "video.deleted")
    with pytest.raises(openai.NotFoundError) as gone:
        client.videos.retrieve(video.id)
    assert gone.value.body == {
        "message": f"Video {video.id} not found",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    key = {"x-api-key": client.api_key}
    assert (
        httpx.get(f"{openai_server.base_url}/v2/requests/{video.id}", headers=key).status_code
        == 404
    )
    assert video.id not in [v.id for v in client.videos.list()]
    # a video still queued or running is cancelled, then deleted
    running = client.videos.create(prompt="gone at once", size=SMALL, seconds="1")
    assert client.videos.delete(running.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.videos.delete(running.id)


def test_another_key_sees_none_of_it(
    openai_server: ServerProcess, client: openai.OpenAI, stranger: openai.OpenAI, made: Video
) -> None:
    assert [v.id for v in stranger.videos.list()] == []
    calls = [
        lambda: stranger.videos.retrieve(made.id),
        lambda: stranger.videos.download_content(made.id),
        lambda: stranger.videos.remix(made.id, prompt="mine now"),
        lambda: stranger.videos.delete(made.id),
        lambda: stranger.post("/videos/extensions", cast_to=Video,
                              body={"prompt": "x", "seconds": "4", "video": {"id": made.id}}),
    ]  # fmt: skip
    for call in calls:
        with pytest.raises(openai.NotFoundError) as unknown:
            call()
        assert unknown.value.body["message"] == f"Video {made.id} not found"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as after:
        stranger.videos.list(after=made.id)
    assert after.value.param == "after"
    key = {"Authorization": f"Bearer {stranger.api_key}"}
    answer = httpx.get(f"{openai_server.base_url}/v2/requests/{made.id}", headers=key)
    assert answer.status_code == 404
    assert client.videos.retrieve(made.id).status == "completed"  # still there for its owner


def test_a_missing_or_wrong_key_is_a_401_in_openai_format(openai_server: ServerProcess) -> None:
    with pytest.raises(openai.AuthenticationError) as denied:
        _client(openai_server, "not-a-key").videos.list()
    assert denied.value.code == "invalid_api_key"
    answer = httpx.get(f"{openai_server.base_url}/v1/videos")
    assert answer.status_code == 401 and answer.json()["error"]["type"] == "invalid_request_error"


def test_a_key_limited_to_other_models_may_not_create(openai_server: ServerProcess) -> None:
    key = _new_key(openai_server, "text-only", unlimited=True, slugs=["pixverse-text2video"])
    with pytest.raises(openai.PermissionDeniedError) as refused:
        _client(openai_server, key).videos.create(prompt="a cat", size=SMALL, seconds="1")
    assert "pixverse-v6" in refused.value.message
    assert refused.value.body["type"] == "permission_error"  # type: ignore[index]


def test_odd_ids_are_404s_not_500s(openai_server: ServerProcess, client: openai.OpenAI) -> None:
    headers = {"Authorization": f"Bearer {client.api_key}"}
    for path in ("/v1/videos/a%00b", "/v1/videos/" + "x" * 5000, "/v1/videos/a%00b/content"):
        answer = httpx.get(openai_server.base_url + path, headers=headers)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["type"] == "invalid_request_error"
    answer = httpx.get(f"{openai_server.base_url}/v1/videos?after=a%00b", headers=headers)
    assert (answer.status_code, answer.json()["error"]["param"]) == (400, "after")
