"""`reelforge status`: queue depth per endpoint, and the workers: live and gone."""

from __future__ import annotations

import typer

from reelforge.cli.common import DataDirOpt, load_settings, open_database, output

app = typer.Typer()


@app.command()
def status(data_dir: DataDirOpt = None) -> None:
    """Queue depth per endpoint and the workers (live and gone), read from the database."""
    from rich.table import Table

    from reelforge.api.admin_routes import fleet_status

    settings = load_settings(data_dir=data_dir)
    with open_database(settings) as db:
        report = fleet_status(db, settings.heartbeat_seconds)
    serving = report["workers_per_slug"]
    queues = Table("endpoint", "queued", "processing", "workers", title="Queues")
    for slug in sorted(set(report["queues"]) | set(serving)):
        counts = report["queues"].get(slug, {"QUEUED": 0, "PROCESSING": 0})
        live = str(serving[slug]) if serving.get(slug) else "none live"
        queues.add_row(slug, str(counts["QUEUED"]), str(counts["PROCESSING"]), live)
    workers = Table(
        "worker", "state", "device", "memory", "engine", "serves", "running", "done",
        title="Workers",
    )  # fmt: skip
    for worker in report["workers"]:
        memory = f"{worker['memory_bytes'] / 2**30:.0f} GiB" if worker["memory_bytes"] else "?"
        state = "live" if worker["live"] else f"gone (last seen {worker['last_seen']:.0f} s ago)"
        workers.add_row(
            # the engine's name carries its memory mode and estimated peak (memory_modes.py)
            worker["id"], state, worker["device"], memory, worker["engine"],
            ", ".join(worker["slugs"]),
            worker["current_job"] or "-", str(worker["jobs_done"]),
        )  # fmt: skip
    out = output()
    out.print(queues)
    out.print(workers)
    for slug in report["unserved"]:
        out.print(f"{slug}: jobs are queued and no live worker serves it")
