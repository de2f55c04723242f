"""Where a running `reelforge serve` listens, recorded in its data directory, so that the
other commands (`run`, `upload`, `watch`, `estimate`, `replay`) find the server started
with the same data directory on whatever port it was given (`scripts/serve --port 8080`
then `reelforge run ...` called port 8000 before)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from reelforge.settings import Settings

FILE = "server.json"  # {"url": ..., "pid": ...} in the data directory, while it runs


def local_url(settings: Settings) -> str:
    """The address this machine reaches a server on with these settings (a wildcard
    listening address becomes loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def record(settings: Settings) -> Path:
    """Write down that this process serves on `local_url(settings)`."""
    path = settings.data_dir / FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"url": local_url(settings), "pid": os.getpid()}))
    temporary.replace(path)  # a reader never sees half of it
    return path


def forget(settings: Settings) -> None:
    """Remove the record, if it is still this process's."""
    path = settings.data_dir / FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def recorded(settings: Settings) -> str | None:
    """The address the server of this data directory recorded, while its process lives;
    None when there is none (or it died without removing it)."""
    try:
        found = json.loads((settings.data_dir / FILE).read_text())
        pid, url = int(found["pid"]), str(found["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)  # alive? (no signal is sent)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        pass
    return url
