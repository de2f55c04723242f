"""Each attack of the issue's "Done when" list, refused with a clear error that names the
field, through the worker's own ingest path (`Inputs.ingest_all`: fetch, then decode), and
nothing else disturbed: the internal server sees no request.

Private addresses are allowed and conftest.BLOCKLIST is in force (see conftest)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reelforge.errors import InputError
from reelforge.media import ingest
from reelforge.settings import Settings
from reelforge.storage import UrlSigner, open_storage
from reelforge.worker.inputs import Inputs
from tests.hostile.conftest import INTERNAL_IP, PUBLIC_IP, FakeDns
from tests.hostile.media import hls_playlist

pytestmark = pytest.mark.usefixtures("hostile_fetch")


def _settings(tmp_path: Path, **overrides) -> Settings:
    values = {"data_dir": tmp_path / "data", "allow_private_urls": True, "fetch_timeout": 10.0}
    return Settings(**{**values, **overrides})


def _ingest(url: str, field: str, kind: str, tmp_path: Path, **settings):
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    settings_ = _settings(tmp_path, **settings)
    inputs = Inputs(settings_, UrlSigner(b"test-secret"), open_storage(settings_))
    return inputs.ingest_all({field: kind}, {field: url}, workdir)


def _refused(url: str, field: str, kind: str, tmp_path: Path, match: str, **settings) -> str:
    with pytest.raises(InputError, match=match) as caught:
        _ingest(url, field, kind, tmp_path, **settings)
    message = str(caught.value)
    assert message.startswith(f"{field}: "), message  # the error names the field
    if "could not fetch" in message:  # no partial download left behind
        assert not list((tmp_path / "work").iterdir())
    return message


# --- where a fetch may go -------------------------------------------------------------------


def test_the_control_case_works(public, internal, tmp_path: Path, hostile_files) -> None:
    public.files["/cat.png"] = hostile_files["good.png"]
    image = _ingest(public.base + "/cat.png", "image_url", "image", tmp_path)["image_url"]
    assert image.size == (320, 180)
    assert internal.requests == []


def test_redirect_to_cloud_metadata(public, internal, tmp_path: Path) -> None:
    url = public.base + "/goto/http://169.254.169.254/latest/meta-data/iam/"
    message = _refused(url, "image_url", "image", tmp_path, "metadata address 169.254.169.254")
    assert "bad redirect" in message
    assert public.requests == ["/goto/http://169.254.169.254/latest/meta-data/iam/"]


def test_cloud_metadata_is_refused_even_without_the_test_blocklist(public, tmp_path: Path) -> None:
    # REELFORGE_ALLOW_PRIVATE_URLS=true alone must not open the metadata service
    with pytest.raises(InputError, match="cloud metadata address 169.254.169.254"):
        ingest.fetch.func(  # the product's fetch without the test seams
            public.base + "/goto/http://169.254.169.254/", tmp_path / "x",
            max_bytes=1000, timeout=5.0, allow_private=True,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://10.1.2.3/admin", "private address 10.1.2.3"),
        ("http://192.168.0.1/", "private address 192.168.0.1"),
        ("http://100.64.0.9/", r"shared \(CGNAT\) address 100.64.0.9"),
        ("http://[::ffff:10.0.0.1]/", "private address ::ffff:a00:1"),
        ("internal", f"loopback address {INTERNAL_IP}"),
    ],
)
def test_redirect_to_a_raw_private_ip(
    public, internal, tmp_path: Path, target: str, message: str
) -> None:
    if target == "internal":  # the internal server's own literal address and port
        target = internal.base + "/secret"
    _refused(f"{public.base}/goto/{target}", "video_url", "video", tmp_path, message)
    assert internal.requests == []


def test_dns_rebinding_public_then_loopback(
    public, internal, tmp_path: Path, hostile_fetch: FakeDns
) -> None:
    # the first answer is "public", every later one the internal server: a fetcher that
    # resolved again for the connection, or for a redirect hop, would reach it
    port = public.server_address[1]
    hostile_fetch.answers["media.example"] = [[PUBLIC_IP], [INTERNAL_IP], [INTERNAL_IP]]
    fetched = ingest.fetch(
        f"http://media.example:{port}/redirect/3", tmp_path / "r", max_bytes=1000,
        timeout=5.0, allow_private=True,
    )  # fmt: skip
    assert fetched.read_bytes() == b"public bytes"
    assert hostile_fetch.lookups == ["media.example"]  # resolved once, pinned for 4 requests
    assert public.requests == ["/redirect/3", "/redirect/2", "/redirect/1", "/ok"]
    assert internal.requests == []


def test_dns_rebinding_when_the_first_answer_is_already_internal(
    public, internal, tmp_path: Path, hostile_fetch: FakeDns
) -> None:
    hostile_fetch.answers["media.example"] = [[PUBLIC_IP, INTERNAL_IP]]  # one bad address
    url = f"http://media.example:{internal.server_address[1]}/secret"
    _refused(url, "image_url", "image", tmp_path,
             f"media.example resolves to a loopback address {INTERNAL_IP}")  # fmt: skip
    assert internal.requests == []


def test_redirect_to_a_name_that_resolves_internal(
    public, internal, tmp_path: Path, hostile_fetch: FakeDns
) -> None:
    hostile_fetch.answers["evil.example"] = [[INTERNAL_IP]]
    url = f"{public.base}/goto/http://evil.example:{internal.server_address[1]}/secret"
    _refused(url, "image_url", "image", tmp_path, "evil.example resolves to a loopback")
    assert internal.requests == []


# --- how long and how much ------------------------------------------------------------------


def test_a_server_that_drips_one_byte_per_second(public, tmp_path: Path) -> None:
    started = time.monotonic()
    _refused(public.base + "/drip", "image_url", "image", tmp_path, "timed out after 2 s",
             fetch_timeout=2.0)  # fmt: skip
    assert time.monotonic() - started < 4.0  # the total bound holds, though each read succeeds


def test_a_server_that_stalls_hits_the_read_timeout(public, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no data received for 0\.5 s"):
        ingest.fetch(public.base + "/stall", tmp_path / "s", max_bytes=1000, timeout=10.0,
                     allow_private=True, read_timeout=0.5)  # fmt: skip


def test_a_content_length_that_claims_less_than_is_sent(public, tmp_path: Path) -> None:
    _refused(public.base + "/claims-small/3000000", "image_url", "image", tmp_path,
             "file is larger than 1 MB", max_image_bytes=1_000_000)  # fmt: skip


def test_a_content_length_that_claims_more_than_is_sent(public, tmp_path: Path) -> None:
    _refused(public.base + "/claims-big/5000", "image_url", "image", tmp_path,
             "could not fetch .*(peer closed|incomplete|Server disconnected)")  # fmt: skip


def test_a_body_past_the_cap(public, tmp_path: Path) -> None:
    # declared honestly: refused from the header, before the body is read
    _refused(public.base + "/big/300000", "video_url", "video", tmp_path,
             "file is larger than 200 kB", max_video_bytes=200_000)  # fmt: skip


# --- what a download may hold ---------------------------------------------------------------


def test_an_hls_playlist_named_mp4(public, internal, tmp_path: Path) -> None:
    public.files["/clip.mp4"] = hls_playlist(internal.base)
    _refused(public.base + "/clip.mp4", "video_url", "video", tmp_path,
             r"unsupported video format \(HLS\)")  # fmt: skip
    assert internal.requests == []  # FFmpeg never saw the playlist, so never fetched it


@pytest.mark.parametrize(
    ("name", "field", "kind", "message"),
    [
        ("random.mp4", "video_url", "video", r"unsupported video format \(unrecognised\)"),
        ("bomb.png", "image_url", "image", "image is too large"),
        ("huge.mp4", "video_url", "video", "video is too large: 8192x8192"),
        ("truncated.mp4", "video_url", "video", "truncated|damaged"),
        ("good.mp4", "image_url", "image", r"unsupported image format \(MP4\)"),
    ],
)
def test_hostile_media(
    public, tmp_path: Path, hostile_files, name: str, field: str, kind: str, message: str
) -> None:
    public.files[f"/{name}"] = hostile_files[name]
    started = time.monotonic()
    _refused(f"{public.base}/{name}", field, kind, tmp_path, message)
    assert time.monotonic() - started < 5.0  # refused from the header, not after decoding


def test_the_bomb_is_small_on_the_wire(hostile_files) -> None:
    assert len(hostile_files["bomb.png"]) < 200_000
    assert len(hostile_files["random.mp4"]) == 200_000
