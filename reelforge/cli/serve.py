"""`reelforge serve` (the API and one worker) and `reelforge worker` (a worker alone)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Annotated

import typer

from reelforge import metrics
from reelforge.cli import address
from reelforge.cli.common import DataDirOpt, console, open_database
from reelforge.cli.common import load_settings as _settings
from reelforge.cli.failures import database_errors, fail
from reelforge.settings import Settings

app = typer.Typer()


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    data_dir: DataDirOpt = None,
    api_workers: Annotated[
        int,
        typer.Option(
            "--api-workers",
            min=1,
            help="API processes sharing the port (each counts rate limits on its own "
            "unless REELFORGE_RATE_LIMIT_STORAGE_URL is redis://)",
        ),
    ] = 1,
) -> None:
    """Run the API and one worker on this machine (embedded SQLite and local files)."""
    settings = _settings(host=host, port=port, data_dir=data_dir)
    # the API and the worker child add up their metrics there: before prometheus_client
    # is first imported (by the API's modules below, or by the child, which inherits it)
    metrics.use_directory(settings.metrics_dir or settings.data_dir / "metrics")
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from reelforge import accounts
    from reelforge.accounts import credits
    from reelforge.api.app import create_app
    from reelforge.api.server import settle_heap, uvicorn_options
    from reelforge.storage import load_secret
    from reelforge.worker.process import WorkerFailed, WorkerProcess

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # 1. The database answers (else one line naming it); what several API processes
    #    would otherwise race to create at once is made here, once
    with open_database(settings) as db:
        if api_workers > 1:
            credits.ensure_admin(db, settings.admin_credits)
            load_secret(settings.signing_secret, settings.data_dir)
    # 2. A SIGTERM (a container runtime's stop) or SIGINT, at any time from here, stops
    #    the worker properly (it hands its job back) before serve exits. uvicorn handles
    #    them while it runs, then restores these handlers and raises the signal again.
    stopping = threading.Event()
    servers: list[uvicorn.Server] = []

    def _on_signal(_signum: int, _frame: object) -> None:
        stopping.set()
        for server in servers:
            server.should_exit = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with WorkerProcess(settings) as worker:
        # 3. The worker loads its engine: no API (no accepted jobs) without a worker
        try:
            if not worker.start(stopping):
                return
        except WorkerFailed as exc:
            fail(str(exc))
        _setup_logging()
        # 4. The API
        first_start = not settings.admin_key and not accounts.admin_key_path(settings).exists()
        key = accounts.admin_key(settings)
        if first_start:
            console.print(f"[bold]Admin API key:[/bold] {key}")
            console.print(f"(saved to {accounts.admin_key_path(settings)}; keep it secret)")
        base = settings.public_url or f"http://{settings.host}:{settings.port}"
        console.print(f"Reelforge on {base}  (SDK: SegmindClient(base_url='{base}/v1'))")
        address.record(settings)  # for `reelforge run`, `upload`, ... of this data dir
        options = uvicorn_options(settings)  # uvloop, httptools, timeouts: api/server.py
        if api_workers == 1:
            servers.append(uvicorn.Server(uvicorn.Config(create_app(settings), **options)))
            settle_heap()
            if not stopping.is_set():
                servers[0].run()
        elif not stopping.is_set():
            # N processes on one socket, each building its app from the environment
            os.environ.update(_environment(settings))
            config = uvicorn.Config(
                "reelforge.api.app:app_from_env", factory=True, workers=api_workers, **options
            )
            # uvicorn's supervisor: it restarts a dead API process, and takes over SIGINT
            # and SIGTERM until it has stopped them all; then ours again (the worker)
            supervisor = Multiprocess(config, sockets=[config.bind_socket()])
            if stopping.is_set():  # a signal came just before it took over
                supervisor.should_exit.set()
            supervisor.run()
            stopping.set()
            signal.signal(signal.SIGTERM, _on_signal)
            signal.signal(signal.SIGINT, _on_signal)
        address.forget(settings)
    # leaving the block stopped the worker: its job is back in the queue


def _environment(settings: Settings) -> dict[str, str]:
    """What the API processes need to build the same settings from the environment (the
    flags' values; the rest came from it)."""
    return {
        "REELFORGE_HOST": settings.host,
        "REELFORGE_PORT": str(settings.port),
        "REELFORGE_DATA_DIR": str(settings.data_dir.resolve()),
    }


@app.command()
def worker(
    ready_fd: Annotated[
        int | None, typer.Option(hidden=True, help="pipe to tell `serve` we are ready")
    ] = None,
    parent_pid: Annotated[
        int | None, typer.Option(hidden=True, help="`serve`'s pid: exit when it dies")
    ] = None,
) -> None:
    """Run one worker (one per GPU) against the configured database."""
    from reelforge.metrics import exposition
    from reelforge.worker import Shutdown, Worker, interrupts
    from reelforge.worker.process import READY, announce, die_with_parent
    from reelforge.worker.startup import CannotStart, load_engine

    if parent_pid is not None:
        die_with_parent(parent_pid)
    _setup_logging()
    settings = _settings()
    stop = threading.Event()
    interrupts.install(stop)  # where the main thread may be interrupted: worker/interrupts.py
    try:
        # 1. The engine, before anything says this worker serves
        try:
            with interrupts.INTERRUPTS.interruptible():  # minutes, and nothing to hand back
                engine = load_engine(settings)
        except CannotStart as exc:
            if ready_fd is None:
                fail(str(exc))
            announce(ready_fd, str(exc))  # `serve` prints it, once
            raise typer.Exit(1) from None
        # 2. The database, then claim jobs until stopped
        with database_errors(settings):
            serving = Worker(settings, engine)
        if ready_fd is None and settings.worker_metrics_port:  # alone: no API adds ours up
            exposition.serve_alone(settings.host, settings.worker_metrics_port)
        ready = None if ready_fd is None else (lambda: announce(ready_fd, READY))
        serving.run(stop, ready=ready)  # returns when `stop` was seen between stages
    except Shutdown:
        pass
    logging.getLogger("reelforge.worker").info("worker stopped")
