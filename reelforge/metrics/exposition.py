"""Answering a scrape: one process's own values, or every process of the machine's.

With `PROMETHEUS_MULTIPROC_DIR` set (`reelforge serve` sets it), each process writes its
values to files there and a scrape adds them up (`MultiProcessCollector`): the API's
counts and its worker child's arrive in one /metrics. Without it (an API-only replica
under uvicorn, a worker alone) a scrape reads this process's registry, which also has
prometheus-client's process and Python collectors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from reelforge.metrics import MULTIPROC_ENV

log = logging.getLogger("reelforge.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(?P<pid>\d+)\.db")


class _ThisProcess(Collector):
    """The default registry, as one collector of another registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def shared_directory() -> Path | None:
    """The multiprocess directory this process writes to, if any."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def registry(*extra: Collector) -> CollectorRegistry:
    """What a scrape reads: every process's values (shared directory) or this one's,
    plus `extra` collectors (the fleet's gauges)."""
    combined = CollectorRegistry()
    directory = shared_directory()
    if directory is not None:
        multiprocess.MultiProcessCollector(combined, path=str(directory))
    else:
        combined.register(_ThisProcess())
    for collector in extra:
        combined.register(collector)
    return combined


def scrape(source: CollectorRegistry) -> bytes:
    """The text exposition of `source`, after forgetting dead processes' live gauges."""
    directory = shared_directory()
    if directory is not None:
        forget_dead(directory)
    return generate_latest(source)


def forget_dead(directory: Path) -> list[int]:
    """`mark_process_dead` for every process that left live-gauge files in `directory`
    and is gone (a restarted worker child, an API process that died); returns their
    pids. Their counters and histograms stay: those totals must never go down."""
    dead: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            match = _LIVE_GAUGE_FILE.fullmatch(entry.name)
            if match and not _alive(int(match["pid"])):
                dead.append(int(match["pid"]))
    for pid in sorted(set(dead)):
        multiprocess.mark_process_dead(pid, str(directory))
    return sorted(set(dead))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def serve_alone(host: str, port: int) -> None:
    """A worker without an API beside it: its own /metrics on host:port (any path
    answers), in a daemon thread."""
    start_http_server(port, addr=host, registry=registry())
    log.info("metrics on http://%s:%d/metrics", host, port)
