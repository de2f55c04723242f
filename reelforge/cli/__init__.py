"""The `reelforge` command, one module per command group:

    serve.py       serve (the API and one worker), worker (a worker alone)
    run.py         run: one video through the segmind SDK
    replay.py      replay: a COMPLETED request again with its seed, checked byte for byte
    estimate.py    estimate: price, plan and ETA of a submit, without one
    watch.py       watch: a request's progress from the live stream, until it ends
    upload.py      upload: input files to a server
    status.py      status: queues and workers, from the database
    keys.py        keys create/list/revoke, credits show/grant, on the database
    checkpoint.py  checkpoint tiny, checkpoint random-full (full-size, random, on a device)
    common.py      settings, options and the database the commands share
    failures.py    every failure a user can fix, as one line on stderr

`app` is the console script `reelforge` (pyproject.toml) and `python -m reelforge`.
"""

from __future__ import annotations

import typer

from reelforge.cli import checkpoint, estimate, keys, replay, run, serve, status, upload, watch

app = typer.Typer(help="Reelforge: a self-hosted, Pixverse-compatible video generation API.")
app.add_typer(serve.app)
app.add_typer(run.app)
app.add_typer(replay.app)
app.add_typer(estimate.app)
app.add_typer(watch.app)
app.add_typer(status.app)
app.add_typer(upload.app)
app.add_typer(checkpoint.app, name="checkpoint")
app.add_typer(keys.keys_app, name="keys")
app.add_typer(keys.credits_app, name="credits")

__all__ = ["app"]
