"""ingest: the URL checks, fetch (data URLs and a real loopback HTTP server), the address
table, and decoding of images and videos from local files."""

from __future__ import annotations

import base64
import io
import ssl
import struct
import zlib
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from urllib.parse import quote_from_bytes

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from reelforge.errors import InputError
from reelforge.media import addresses, ingest, pinning
from reelforge.media.addresses import blocked_kind
from reelforge.media.ingest import check_url, detect_media, fetch, load_image, load_video
from tests.media.conftest import PAYLOAD, TLS_HOST, colour_bars, tone

MB = 1_000_000


def _get(url: str, dest: Path, *, max_bytes: int = MB, timeout: float = 5.0,
         allow_private: bool = True) -> bytes:  # fmt: skip
    return fetch(url, dest, max_bytes=max_bytes, timeout=timeout,
                 allow_private=allow_private).read_bytes()  # fmt: skip


def _png_bytes(size: tuple[int, int] = (8, 6), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red").save(buffer, "PNG")
    return buffer.getvalue()


# --- the address table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"), ("127.255.255.254", "loopback"),
        ("169.254.169.254", "link-local"), ("169.254.0.1", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"), ("100.127.255.255", "shared (CGNAT)"),
        ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"),
        ("255.255.255.255", "reserved"), ("240.0.0.1", "reserved"),
        ("192.0.2.1", "documentation"), ("198.18.0.1", "reserved"),
        ("::1", "loopback"), ("::", "unspecified"),
        ("fc00::1", "private"), ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"), ("febf::1", "link-local"), ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"), ("2002:a9fe:a9fe::1", "link-local"),
        ("64:ff9b::7f00:1", "loopback"), ("64:ff9b::a00:1", "private"),
        ("2001:db8::1", "documentation"), ("2001::1", "reserved"), ("::127.0.0.1", "reserved"),
        ("8.8.8.8", None), ("1.1.1.1", None), ("100.63.255.255", None), ("172.32.0.1", None),
        ("2606:4700::1111", None), ("2a00:1450:4001::1", None),
        ("::ffff:8.8.8.8", None), ("2002:808:808::1", None), ("64:ff9b::808:808", None),
    ],
)  # fmt: skip
def test_address_table(address: str, kind: str | None) -> None:
    assert blocked_kind(address) == kind


@given(st.ip_addresses(v=4))
def test_every_allowed_ipv4_address_is_global(ip: IPv4Address) -> None:
    # cross-check the explicit list against the standard library: never looser
    if blocked_kind(ip) is None:
        assert ip.is_global


@given(st.ip_addresses(v=6))
def test_every_allowed_plain_ipv6_address_is_global(ip: IPv6Address) -> None:
    if addresses.embedded_ipv4(ip) is None and blocked_kind(ip) is None:
        assert ip.is_global


# --- check_url -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/a.png", "must start with"),
        ("file:///etc/passwd", "must start with"),
        ("javascript:alert(1)", "must start with"),
        ("example.com/a.png", "must start with"),
        ("http://", "host"),
        ("http://exa mple.com/", "malformed"),
        ("http://user:secret@example.com/a.png", "user name"),
        ("http://127.0.0.1/a.png", "loopback address 127.0.0.1"),
        ("http://2130706433/", "loopback address 127.0.0.1"),
        ("http://0x7f.1/", "loopback address 127.0.0.1"),
        ("http://127.0.0.1./", "loopback"),
        ("http://[::ffff:127.0.0.1]:8080/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private address 10.0.0.1"),
        ("http://localhost:8000/a.png", "loopback host"),
        ("http://api.localhost/", "loopback host"),
        ("data:text/plain,hello", "image or a video"),
        ("data:,hello", "image or a video"),
        ("data:image/png;base64" + "A" * 10, "malformed data URL"),
        ("data:image/png;base64," + "A" * 2000, "larger than 1 kB"),
        ("data:image/png," + "%41" * 1001, "larger than 1 kB"),
    ],
)
def test_check_url_refuses(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_url(url, max_bytes=1000, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.png",
        "http://8.8.8.8:8080/x.mp4?sig=abc",
        "https://bücher.example/bild.webp",
        "data:image/png;base64," + "A" * 1000,
        "data:video/mp4,%00%01",
        "data:application/octet-stream;base64,AAAA",
    ],
)
def test_check_url_accepts(url: str) -> None:
    check_url(url, max_bytes=1000, allow_private=False)


def test_check_url_allows_private_when_told() -> None:
    check_url("http://127.0.0.1:9/a.png", max_bytes=1000, allow_private=True)
    check_url("http://localhost/a.png", max_bytes=1000, allow_private=True)


# --- fetch: data URLs ----------------------------------------------------------------------


def test_fetch_base64_data_url(tmp_path: Path) -> None:
    png = _png_bytes()
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    assert _get(url, tmp_path / "in.png") == png
    assert load_image(tmp_path / "in.png").size == (8, 6)


def test_fetch_percent_encoded_data_url(tmp_path: Path) -> None:
    png = _png_bytes()
    assert _get("data:image/png," + quote_from_bytes(png), tmp_path / "in.png") == png


def test_fetch_data_url_errors(tmp_path: Path) -> None:
    dest = tmp_path / "in.png"
    with pytest.raises(InputError, match="invalid base64"):
        _get("data:image/png;base64,@@@@", dest)
    with pytest.raises(InputError, match="image or a video"):
        _get("data:text/html,<b>", dest)
    with pytest.raises(InputError, match="larger than 10 bytes"):
        _get("data:image/png;base64," + base64.b64encode(b"x" * 11).decode(), dest, max_bytes=10)
    assert not dest.exists()


# --- fetch: HTTP ---------------------------------------------------------------------------


def test_fetch_200(http_server, tmp_path: Path) -> None:
    assert _get(http_server.base + "/ok", tmp_path / "ok.bin") == PAYLOAD


def test_fetch_404_names_the_status(http_server, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"could not fetch http://127\.0\.0\.1:\d+/nope: HTTP 404"):
        _get(http_server.base + "/nope", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_fetch_follows_five_redirects(http_server, tmp_path: Path) -> None:
    assert _get(http_server.base + "/redirect/5", tmp_path / "r") == PAYLOAD


def test_fetch_refuses_a_sixth_redirect(http_server, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="more than 5 redirects"):
        _get(http_server.base + "/redirect/6", tmp_path / "r")


def test_fetch_refuses_redirect_to_another_scheme(http_server, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="bad redirect"):
        _get(http_server.base + "/goto/file:///etc/passwd", tmp_path / "r")


@pytest.mark.parametrize("route", ["/chunked/3000000", "/liar/3000000"])
def test_fetch_caps_a_body_without_a_true_length(http_server, tmp_path: Path, route: str) -> None:
    # /liar also claims Content-Length: 10; neither may get past the 1 MB cap
    with pytest.raises(InputError, match="file is larger than 1 MB"):
        _get(http_server.base + route, tmp_path / "big")
    assert not (tmp_path / "big").exists()


def test_fetch_refuses_a_declared_oversize_body_early(http_server, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="larger than 1 kB"):
        _get(http_server.base + "/big/5000", tmp_path / "big", max_bytes=1000)


def test_fetch_small_chunked_body_is_fine(http_server, tmp_path: Path) -> None:
    assert len(_get(http_server.base + "/chunked/1000", tmp_path / "c")) == 1000


def test_fetch_total_timeout_beats_a_trickle(http_server, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="timed out after 0.5 s"):
        _get(http_server.base + "/slow", tmp_path / "slow", timeout=0.5)


def test_fetch_refuses_loopback_unless_allowed(http_server, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="loopback address 127.0.0.1"):
        _get(http_server.base + "/ok", tmp_path / "x", allow_private=False)
    assert http_server.requests == []  # refused before connecting


def test_fetch_ipv6_literal(http6_server, tmp_path: Path) -> None:
    port = http6_server.server_address[1]
    assert _get(http6_server.base + "/host", tmp_path / "h") == f"[::1]:{port}".encode()
    with pytest.raises(InputError, match="loopback address ::1"):
        _get(http6_server.base + "/ok", tmp_path / "x", allow_private=False)


def test_fetch_unresolvable_host(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="could not resolve host"):
        _get("http://no-such-host.invalid/a.png", tmp_path / "x")


def test_fetch_connection_refused(http_server, tmp_path: Path) -> None:
    port = http_server.server_address[1]
    http_server.shutdown()
    http_server.server_close()
    with pytest.raises(InputError, match="could not fetch"):
        _get(f"http://127.0.0.1:{port}/ok", tmp_path / "x")


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Route host names to the given addresses; return the log of lookups. Each lookup
    pops the first answer, so a second lookup of a name would see a different address
    (a DNS rebinding attack) if fetch ever asked twice."""
    lookups: list[str] = []

    def resolve(host: str, port: int, timeout: float) -> list:
        lookups.append(host)
        if host not in answers:  # an IP literal
            return [ip_address(host)]
        return [ip_address(answers[host].pop(0))]

    monkeypatch.setattr(pinning, "resolve", resolve)
    return lookups


def test_fetch_connects_to_the_pinned_address_with_the_real_host_header(
    http_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = http_server.server_address[1]
    lookups = _fake_dns(monkeypatch, {"media.example": ["127.0.0.1", "10.9.9.9"]})
    url = f"http://media.example:{port}/redirect/3"
    assert _get(url, tmp_path / "a") == PAYLOAD
    assert lookups == ["media.example"]  # resolved once for all four requests
    assert {host for _, host in http_server.requests} == {f"media.example:{port}"}


def test_fetch_sends_the_url_host_not_the_address(
    http_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = http_server.server_address[1]
    _fake_dns(monkeypatch, {"cdn.example": ["127.0.0.1"]})
    body = _get(f"http://cdn.example:{port}/host", tmp_path / "h")
    assert body == f"cdn.example:{port}".encode()


def test_https_keeps_sni_and_certificate_checks_on_the_host_name(
    https_server, tls_cert: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the certificate names only media.example: connecting to the pinned 127.0.0.1 while
    # verifying against the URL's host name is the only way this succeeds
    monkeypatch.setattr(ingest, "_ssl_context", lambda: ssl.create_default_context(
        cafile=str(tls_cert[0])))  # fmt: skip
    port = https_server.server_address[1]
    _fake_dns(monkeypatch, {TLS_HOST: ["127.0.0.1"]})
    body = _get(f"https://{TLS_HOST}:{port}/host", tmp_path / "h")
    assert body == f"{TLS_HOST}:{port}".encode()
    with pytest.raises(InputError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
        _get(f"https://127.0.0.1:{port}/ok", tmp_path / "ip")  # the name does not match


def test_fetch_checks_every_redirect_hop(
    http_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pretend only 127.0.0.2 is non-public, so the first hop may reach the test server
    def describe(ip):
        return "a private address 127.0.0.2" if str(ip) == "127.0.0.2" else None

    monkeypatch.setattr(ingest, "describe_blocked", describe)  # check_url
    monkeypatch.setattr(pinning, "describe_blocked", describe)  # resolved addresses
    port = http_server.server_address[1]
    assert _get(http_server.base + "/ok", tmp_path / "a", allow_private=False) == PAYLOAD
    with pytest.raises(InputError, match="private address 127.0.0.2"):
        _get(f"{http_server.base}/goto/http://127.0.0.2:{port}/ok", tmp_path / "b",
             allow_private=False)  # fmt: skip
    lookups = _fake_dns(monkeypatch, {"evil.example": ["127.0.0.2"]})
    with pytest.raises(InputError, match="evil.example resolves to a private address"):
        _get(f"{http_server.base}/goto/http://evil.example:{port}/ok", tmp_path / "c",
             allow_private=False)  # fmt: skip
    assert lookups == ["127.0.0.1", "evil.example"]
    assert [path for path, _ in http_server.requests].count("/ok") == 1


# --- load_image ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_load_image_formats(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "picture.bin"  # the name says nothing; the content decides
    Image.new("RGB", (40, 30), (10, 200, 30)).save(path, fmt)
    image = load_image(path)
    assert (image.mode, image.size) == ("RGB", (40, 30))
    assert abs(image.getpixel((20, 15))[1] - 200) < 8


def test_load_image_applies_exif_orientation(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.new("RGB", (40, 30), "blue").save(path, "JPEG", exif=exif)
    assert load_image(path).size == (30, 40)


def test_load_image_flattens_transparency_onto_white(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(path)
    assert load_image(path).getpixel((1, 1)) == (255, 255, 255)


def test_load_image_refuses_gif(tmp_path: Path) -> None:
    path = tmp_path / "anim.png"
    Image.new("RGB", (4, 4)).save(path, "GIF")
    with pytest.raises(InputError, match="unsupported image format \\(GIF\\)"):
        load_image(path)


def test_load_image_refuses_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(InputError, match="unsupported image format"):
        load_image(path)


def test_load_image_refuses_a_truncated_png(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    buffer = io.BytesIO()
    Image.fromarray(colour_bars(1, 256, 256)[0]).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue()[:300])
    with pytest.raises(InputError, match="cannot decode the PNG image"):
        load_image(path)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with one tiny IDAT and no real pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize("side", [50_000, 9_000])  # beyond Pillow's own limit / beyond ours
def test_load_image_refuses_a_bomb_before_decoding(tmp_path: Path, side: int) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    with pytest.raises(InputError, match="image is too large"):
        load_image(path)


# --- load_video ----------------------------------------------------------------------------


def test_load_video_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(2).bytes(50_000))
    with pytest.raises(InputError, match="unsupported video format"):
        load_video(path)


def test_load_video_text_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 100)
    with pytest.raises(InputError, match="unsupported video format"):
        load_video(path)


def test_load_video_garbage_after_a_valid_header(tmp_path: Path, bars_mp4: Path) -> None:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(bars_mp4.read_bytes()[:64] + np.random.default_rng(3).bytes(50_000))
    with pytest.raises(InputError, match="no video stream|cannot decode the MP4 video"):
        load_video(path)


@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_load_video_truncated_mp4_is_an_input_error(
    tmp_path: Path, bars_mp4: Path, keep: float
) -> None:
    data = bars_mp4.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError, match="truncated"):
        load_video(path)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_frames": 100}, "121 frames is over 100"),
        ({"max_seconds": 4.0}, "5.0 s is over 4 s"),
        ({"max_pixels_per_frame": 640 * 360}, "960x540 is over"),
        ({"max_decoded_bytes": 100 * 960 * 540 * 3}, "too large to decode"),
    ],
)
def test_load_video_limits_from_the_header(bars_mp4: Path, limits: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_video(bars_mp4, **limits)


def test_load_video_webm_with_opus(tmp_path: Path) -> None:
    path = tmp_path / "clip.webm"
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("libopus", rate=48000, layout="stereo")
        for frame in colour_bars(12, 64, 48):
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        samples = tone(0.5, 48000)
        for start in range(0, samples.shape[1], 960):
            chunk = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + 960]), format="fltp",
                layout="stereo",
            )  # fmt: skip
            chunk.sample_rate, chunk.pts = 48000, start
            out.mux(audio.encode(chunk))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    assert detect_media(path) == "webm"
    clip = load_video(path)
    assert clip.frames.shape == (12, 48, 64, 3)
    assert clip.sample_rate == 48000 and clip.audio is not None
    assert clip.audio.shape == (2, 24000)


def test_load_video_applies_the_display_rotation(tmp_path: Path) -> None:
    path = tmp_path / "phone.mp4"
    picture = np.zeros((48, 64, 3), np.uint8)
    picture[:24, :32] = 255  # white top-left quarter
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.set_display_rotation(90)  # shown turned 90 degrees counter-clockwise
        for _ in range(3):
            out.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(video.encode(None))
    frames = load_video(path).frames
    assert frames.shape == (3, 64, 48, 3)
    assert frames[0, 48, 12].min() > 200 and frames[0, 12, 12].max() < 50  # now bottom-left


def test_load_video_without_audio(tmp_path: Path) -> None:
    from reelforge.media.encode import encode_mp4
    from reelforge.task import Clip

    path = tmp_path / "silent.mp4"
    encode_mp4(Clip(colour_bars(4, 64, 48), 24.0), 64, 48, path)
    clip = load_video(path)
    assert (clip.audio, clip.sample_rate, len(clip.frames)) == (None, None, 4)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n....", "png"), (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "webp"), (b"GIF89a", "gif"),
        (b"\0\0\0\x20ftypisom", "mp4"), (b"\0\0\0\x14ftypqt  ", "mov"),
        (b"\0\0\0\x1cftypavif", "avif"), (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", "webm"),
        (b"hello", "unknown"),
    ],
)  # fmt: skip
def test_detect_media(tmp_path: Path, data: bytes, kind: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    assert detect_media(path) == kind


def test_a_large_base64_data_url_is_decoded_without_copies_of_it(tmp_path: Path) -> None:
    """Issue 21: one 241 MB data: URL upload took the API from 129 MB to 1,084 MB: the
    payload was unquoted, stripped, translated and padded whole, a copy each time. It is
    decoded a few MB at a time into the file now, whatever its size."""
    import tracemalloc

    data = bytes(range(256)) * (30 * 1024 * 1024 // 256)  # 30 MB
    url = "data:video/mp4;base64," + base64.b64encode(data).decode()  # 40 MB of text
    dest = tmp_path / "decoded"
    tracemalloc.start()
    try:
        fetch(url, dest, max_bytes=len(data), allow_private=False, timeout=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dest.read_bytes() == data
    assert peak < len(url) // 2, f"{peak / 1e6:.0f} MB for a {len(url) / 1e6:.0f} MB URL"
    with pytest.raises(InputError, match="larger than"):
        fetch(url, tmp_path / "capped", max_bytes=len(data) - 1, allow_private=False, timeout=30)
    assert not (tmp_path / "capped").exists()


@pytest.mark.parametrize(
    "host", ["a" * 300 + ".example.com", "x." * 130 + "com", "b" * 64 + ".com"]
)
def test_a_host_name_dns_cannot_hold_is_a_malformed_url(host: str) -> None:
    """Issue 21: a 300-character label was accepted at submit, crashed the resolver thread
    (IDNA refuses it) and failed the job as 'could not connect within 10 s'."""
    with pytest.raises(ValueError, match="malformed URL: .*(longer than|empty part)"):
        check_url(f"https://{host}/a.png", max_bytes=1000, allow_private=False)
    check_url(f"https://{'b' * 63}.com/a.png", max_bytes=1000, allow_private=False)
