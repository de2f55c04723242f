"""Fixtures shared by every test package: input media on a loopback server, a real
`reelforge serve` driven through the official segmind SDK, the API and a worker in this
process (`app_with_worker`), and the local PostgreSQL (`postgres_url`, `pg_schema_url`)."""

from __future__ import annotations

import contextlib
import itertools
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from tests.support import checkpoints
from tests.support.environment import unavailable
from tests.support.fake_engine import FakeEngine
from tests.support.inprocess import AppWithWorker, EngineFactory
from tests.support.media_server import MediaServer
from tests.support.postgres import private_schema, require_postgres
from tests.support.seeds import EXTEND_INPUT_FRAMES
from tests.support.server import FAKE_ENGINE, ServerProcess

# The fixtures that make a test slow, and why. A test that uses any of them, directly or
# through another fixture, is marked `slow` by the hook below and left out of the quick tier
# (`scripts/test --quick`); one on the real engine is marked `engine` as well. A new kind
# of slow set-up gets a fixture and a line here, never a mark on each test.
SLOW_FIXTURES = {
    "serve": "starts `reelforge serve`",
    "tiny_checkpoint": "runs the real LTX-2 engine",
    "tiny_distilled_checkpoint": "runs the real LTX-2 engine",
    "browser_page": "drives Chromium",
    "pg_cluster": "starts a private PostgreSQL cluster",
}
ENGINE_FIXTURES = ("tiny_checkpoint", "tiny_distilled_checkpoint")
# Servers worth one copy per run rather than one per parallel worker: every test that uses
# one runs on the same worker (pytest-xdist's `--dist loadgroup`, which scripts/test uses).
# The LTX-2 server loads the real engine (four copies of it cost about 150 s of CPU more
# than one); and each module-scoped fixture that starts a server (`_shared_servers`) would
# otherwise start on every worker that one of its module's tests lands on.
ONE_WORKER_FIXTURES = ("ltx2_server",)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test slow (and engine) by the fixtures it uses, then run the real engine's
    tests first, the other slow ones next and the rest last: scripts/test hands the
    parallel workers a test or two at a time in this order, so the longest start early and
    the short ones fill the workers up at the end (a long test started last would be run
    alone while the other workers idle). The sort is stable: a module's tests stay
    together within each group."""
    rank: dict[str, int] = {}
    for item in items:
        used = getattr(item, "fixturenames", ())  # the whole closure of its fixtures
        reasons = [why for name, why in SLOW_FIXTURES.items() if name in used]
        if reasons:
            item.add_marker(pytest.mark.slow(reason="; ".join(dict.fromkeys(reasons))))
        groups = [name for name in ONE_WORKER_FIXTURES if name in used]
        for group in (*groups, *_shared_servers(item)):
            item.add_marker(pytest.mark.xdist_group(group))
        engine = any(name in used for name in ENGINE_FIXTURES)
        if engine:
            item.add_marker(pytest.mark.engine)
        rank[item.nodeid] = 0 if engine else 1 if reasons else 2
    items.sort(key=lambda item: rank[item.nodeid])


def _shared_servers(item: pytest.Item) -> list[str]:
    """The module-scoped fixtures of `item` that start a server (`serve` in their own
    closure), as `module/fixture`: a module's tests that share one go to one worker,
    which starts it once."""
    defs = getattr(item, "_fixtureinfo", None)
    if defs is None:
        return []
    by_name = defs.name2fixturedefs

    def starts_a_server(name: str, seen: set[str]) -> bool:
        if name == "serve":
            return True
        if name in seen or name not in by_name:
            return False
        seen.add(name)
        return any(starts_a_server(arg, seen) for arg in by_name[name][-1].argnames)

    module = getattr(item, "module", None)
    where = module.__name__ if module is not None else item.nodeid.split("::")[0]
    return [
        f"{where}.{name}"
        for name, chain in by_name.items()
        if chain[-1].scope == "module" and starts_a_server(name, set())
    ]


@pytest.hookimpl(trylast=True)  # after pytest-xdist renamed the grouped tests
def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail loudly when `--dist loadgroup` would not keep a group on one worker: it works
    by renaming each grouped test `nodeid@group`, which some pytest versions ignore (9.2),
    and then every worker would load the real engine again, silently."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    for item in session.items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            raise pytest.UsageError(
                f"pytest-xdist did not group {item.nodeid}: a pytest it does not support?"
            )


def _gradient(width: int, height: int, hue: int) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(x, (height, width, 3)).copy()
    pixels[..., hue] = 200
    return Image.fromarray(pixels)


def write_test_video(
    path: Path, frames: int, width: int = 256, height: int = 144, fps: int = 24
) -> None:
    """An H.264 + AAC mp4 (24 fps unless told) written with PyAV directly (not with our
    encoder)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        for index in range(frames):
            pixels = np.full((height, width, 3), (index * 5) % 255, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        samples = np.zeros((1, 2 * 48000 * frames // fps), dtype=np.float32)
        tone = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="stereo")
        tone.sample_rate = 48000
        for packet in audio.encode(tone):
            container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    _gradient(320, 180, 0).save(root / "input.png")
    _gradient(320, 180, 2).save(root / "last.png")
    _gradient(180, 320, 1).save(root / "portrait.png")
    write_test_video(root / "input.mp4", EXTEND_INPUT_FRAMES)
    return root


@pytest.fixture(scope="session")
def media_server(media_dir: Path) -> Iterator[MediaServer]:
    with MediaServer(media_dir) as server:
        yield server


@pytest.fixture(scope="session")
def serve() -> Iterator[Callable[..., ServerProcess]]:
    """serve(data_dir, key=..., **env) -> a `reelforge serve` child (ServerProcess, not yet
    started) on a port of its own. The one way tests start a server: it marks them slow
    (SLOW_FIXTURES), and whatever a test or fixture left running is stopped at the end."""
    made: list[ServerProcess] = []

    def make(data_dir: Path, **kwargs: Any) -> ServerProcess:
        made.append(ServerProcess(data_dir, **kwargs))
        return made[-1]

    yield make
    for process in made:
        process.stop()


@pytest.fixture(scope="session")
def server(
    serve: Callable[..., ServerProcess], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server with the fast test engine, shared by the wire-protocol tests."""
    process = serve(tmp_path_factory.mktemp("server"), REELFORGE_ENGINE=FAKE_ENGINE)
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(scope="session")
def tiny_checkpoint() -> Path:
    """A tiny random LTX-2 checkpoint built the way a user builds one (the CLI), once for
    every run and worker while its builder is unchanged (tests/support/checkpoints.py).
    Read only: copy it to change it."""
    return checkpoints.tiny_checkpoint()


@pytest.fixture(scope="session")
def tiny_distilled_checkpoint() -> Path:
    """The tiny checkpoint marked distilled (the distilled and two-stage schedules)."""
    return checkpoints.tiny_checkpoint(distilled=True)


@pytest.fixture(scope="session")
def ltx2_server(
    serve: Callable[..., ServerProcess],
    tmp_path_factory: pytest.TempPathFactory,
    tiny_checkpoint: Path,
) -> Iterator[ServerProcess]:
    """A server on the real LTX-2 engine (diffusers) with the tiny checkpoint. It encodes
    with x264's fastest preset: the tiny checkpoint makes noise, which costs the default
    preset 38 s of CPU per 540p 5 s video and ultrafast 1.4 s (the default preset is
    what tests/media checks)."""
    process = serve(
        tmp_path_factory.mktemp("ltx2-server"),
        REELFORGE_CHECKPOINT=str(tiny_checkpoint),
        REELFORGE_X264_PRESET="ultrafast",
    )
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """small_disk("4m") -> the mount point of a fresh tmpfs of that size (a disk that
    really fills up), unmounted afterwards. Needs root: elsewhere the test is skipped,
    saying so (failed on CI)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            unavailable(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], check=True)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The local PostgreSQL (tests/support/postgres.py); a test that asks for it is
    skipped, saying why, when none is reachable (failed instead on CI)."""
    return require_postgres()


@pytest.fixture
def pg_schema_url(postgres_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database URL confined to a new, empty schema for this test alone (no tables
    yet), named after the test's package; the schema is dropped afterwards."""
    parts = request.module.__name__.split(".")  # tests.<package>.test_<module>
    prefix = re.sub(r"\W", "_", parts[1]) if len(parts) > 2 else "t"
    with private_schema(prefix, postgres_url) as url:
        yield url


@pytest.fixture
def app_with_worker(tmp_path: Path) -> Iterator[Callable[..., AppWithWorker]]:
    """app_with_worker(engine=FakeEngine, **settings) -> AppWithWorker: `create_app`
    behind Starlette's TestClient (`.client`) and a `Worker(settings, engine(settings))`
    running in a thread (`.worker`) on the same SQLite database under tmp_path;
    `engine=None`: the API alone. `settings` are Settings fields (lease_seconds=1, ...)
    over the defaults in tests/support/inprocess.py. Everything started is stopped at
    the end: the worker (stop flag set, thread joined, its errors raised), then the API.
    """
    made = itertools.count()
    with contextlib.ExitStack() as stack:

        def make(*, engine: EngineFactory | None = FakeEngine, **settings: Any) -> AppWithWorker:
            root = tmp_path / f"app-{next(made)}"
            return stack.enter_context(AppWithWorker(root, engine=engine, **settings))

        yield make
