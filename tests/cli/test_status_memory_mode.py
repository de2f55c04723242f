"""`reelforge status` shows each worker's engine, whose name carries its memory mode and
estimated peak (engines/memory_modes.py)."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from reelforge.cli import app
from reelforge.jobs import connect, fleet, migrate

ENGINE = (
    "ltx2 Lightricks/LTX-2 on cuda:0, memory mode offload_text_encoder (peak ~48.7 GiB, estimated)"
)


def test_status_shows_the_memory_mode_and_its_peak(tmp_path):
    db = connect(f"sqlite:///{tmp_path / 'reelforge.db'}")
    try:
        migrate(db)
        fleet.register(
            db, fleet.WorkerInfo("gpu-1:1:a", "gpu-1", os.getpid(), ["pixverse-v6"], ENGINE,
                                 "cuda:0", 80 * 10**9),
        )  # fmt: skip
    finally:
        db.dispose()
    result = CliRunner().invoke(
        app, ["status", "--data-dir", str(tmp_path)], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    assert ENGINE in result.output
