"""The `reelforge` command: serve, worker, run, checkpoint."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from reelforge.cli_keys import credits_app, keys_app
from reelforge.cli_upload import upload
from reelforge.settings import Settings

app = typer.Typer(help="Reelforge: a self-hosted, Pixverse-compatible video generation API.")
checkpoint_app = typer.Typer(help="Build and inspect LTX-2 checkpoints.")
app.add_typer(checkpoint_app, name="checkpoint")
app.add_typer(keys_app, name="keys")
app.add_typer(credits_app, name="credits")
app.command("upload")(upload)
console = Console(stderr=True)

DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="embedded data directory (REELFORGE_DATA_DIR)")
]


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the CLI's explicit flags on top."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return Settings(**given)


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Run the API and one worker on this machine (embedded SQLite and local files)."""
    import uvicorn

    from reelforge import accounts
    from reelforge.api.app import create_app
    from reelforge.worker.process import WorkerProcess

    _setup_logging()
    settings = _settings(host=host, port=port, data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    first_start = not settings.admin_key and not accounts.admin_key_path(settings).exists()
    key = accounts.admin_key(settings)
    if first_start:
        console.print(f"[bold]Admin API key:[/bold] {key}")
        console.print(f"(saved to {accounts.admin_key_path(settings)}; keep it secret)")
    api = create_app(settings)
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    console.print(f"Reelforge on {base}  (SDK: SegmindClient(base_url='{base}/v1'))")
    with WorkerProcess(settings):
        uvicorn.run(api, host=settings.host, port=settings.port, log_level="info")


@app.command()
def worker() -> None:
    """Run one worker (one per GPU) against the configured database."""
    from reelforge import engines
    from reelforge.worker import Shutdown, Worker

    _setup_logging()
    settings = _settings()
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        if not stop.is_set():
            stop.set()
            raise Shutdown

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        engine = engines.load(settings)
        Worker(settings, engine).run(stop)
    except Shutdown:
        logging.getLogger("reelforge.worker").info("worker stopped")


def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise typer.BadParameter(f"expected name=value, got {text!r}")
    try:  # numbers, booleans and null as JSON; anything else is a string
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, value


@app.command()
def run(
    slug: Annotated[str, typer.Argument(help="e.g. pixverse-v6")],
    param: Annotated[list[str], typer.Option("-p", "--param", help="name=value")] = [],  # noqa: B006
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the mp4")] = Path(
        "out.mp4"
    ),
    url: Annotated[str, typer.Option(envvar="REELFORGE_URL", help="server base URL")] = (
        "http://127.0.0.1:8000"
    ),
    key: Annotated[str | None, typer.Option(envvar="SEGMIND_API_KEY", help="API key")] = None,
    data_dir: DataDirOpt = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait")] = 3600.0,
) -> None:
    """Generate one video through the official segmind SDK, with a progress bar."""
    import httpx
    from rich.progress import Progress
    from segmind import SegmindClient, SegmindError

    from reelforge import accounts

    params = dict(_parse_param(item) for item in param)
    api_key = key or accounts.admin_key(_settings(data_dir=data_dir))
    client = SegmindClient(api_key=api_key, base_url=url.rstrip("/") + "/v1", timeout=60.0)
    try:
        job = client.submit_async(slug, **params)
    except SegmindError as exc:
        console.print(f"[red]refused ({exc.status})[/red]: {exc.detail}")
        raise typer.Exit(1) from None
    console.print(f"request {job.request_id}")
    deadline = time.monotonic() + timeout
    with Progress(console=console) as bar:
        task = bar.add_task("queued", total=1.0)
        while True:
            status = job.status()
            bar.update(task, completed=status.get("progress", 0.0), description=status["stage"])
            if status["status"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    if status["status"] != "COMPLETED":
        console.print(f"[red]{status['status']}[/red]: {status.get('error', 'timed out')}")
        raise typer.Exit(1)
    result = job.result()
    output.write_bytes(httpx.get(result["output"], timeout=60.0).content)
    console.print(f"wrote {output} ({json.dumps(result.get('video'))}, seed {result.get('seed')})")


@app.command()
def status(data_dir: DataDirOpt = None) -> None:
    """Queue depth per endpoint and the live workers, read from the database."""
    from rich.table import Table

    from reelforge.api.admin_routes import fleet_status
    from reelforge.jobs import connect, migrate

    settings = _settings(data_dir=data_dir)
    db = connect(settings.resolved_database_url)
    migrate(db)
    report = fleet_status(db, settings.heartbeat_seconds)
    queues = Table("endpoint", "queued", "processing", title="Queues")
    for slug, counts in sorted(report["queues"].items()):
        queues.add_row(slug, str(counts["QUEUED"]), str(counts["PROCESSING"]))
    workers = Table("worker", "device", "memory", "serves", "running", "done", title="Workers")
    for worker in report["workers"]:
        memory = f"{worker['memory_bytes'] / 2**30:.0f} GiB" if worker["memory_bytes"] else "?"
        workers.add_row(
            worker["id"], worker["device"], memory, ", ".join(worker["slugs"]),
            worker["current_job"] or "-", str(worker["jobs_done"]),
        )  # fmt: skip
    out = Console()
    out.print(queues)
    out.print(workers)


@checkpoint_app.command("tiny")
def checkpoint_tiny(
    directory: Annotated[Path, typer.Argument(help="where to save the checkpoint")],
) -> None:
    """Build a tiny, randomly initialised LTX-2 checkpoint (offline; output is noise)."""
    from reelforge.engines.tiny import build_tiny_checkpoint

    path = build_tiny_checkpoint(directory)
    console.print(f"tiny random LTX-2 checkpoint saved to {path} (for tests: its output is noise)")
