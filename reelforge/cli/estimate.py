"""`reelforge estimate SLUG -p name=value ...`: what a submit would cost and plan, and
when it would be done, from the server's POST /v2/{slug}/estimate (no job, no charge)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from reelforge.cli.common import (
    DataDirOpt,
    KeyOpt,
    UrlOpt,
    api_key,
    load_settings,
    output,
    server_url,
)
from reelforge.cli.failures import json_answer, server_errors
from reelforge.cli.run import _parse_param

app = typer.Typer()


@app.command()
def estimate(
    slug: Annotated[str, typer.Argument(help="e.g. pixverse-v6")],
    param: Annotated[list[str], typer.Option("-p", "--param", help="name=value")] = [],  # noqa: B006
    url: UrlOpt = None,
    key: KeyOpt = None,
    data_dir: DataDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer as JSON")] = False,
) -> None:
    """Price, generation plan and ETA of a submit, without submitting it."""
    import httpx

    body = dict(_parse_param(item) for item in param)
    settings = load_settings(data_dir=data_dir)
    base = server_url(url, settings)
    with server_errors(base):
        response = httpx.post(
            f"{base}/v2/{slug}/estimate",
            json=body,
            headers={"x-api-key": api_key(key, settings)},
            timeout=30.0,
        )
        answer = json_answer(response)
    out = output()
    if as_json:
        out.print_json(json.dumps(answer))
        return
    for line in describe(answer):
        out.print(line, highlight=False)


def describe(answer: dict[str, Any]) -> list[str]:
    """The answer in a few lines a person reads."""
    plan, eta = answer["plan"], answer["eta"]
    lines = [
        f"{answer['model']}: {answer['price']:g} credits",
        f"plan: {plan['schedule']}, {plan['width']}x{plan['height']}, {plan['frames']} frames, "
        f"{plan['steps']} steps, {plan['transformer_passes']} transformer passes, "
        f"{plan['tflop']:,.1f} TFLOP (full-size LTX-2)",
    ]
    for stage in plan["stages"]:
        lines.append(
            f"  {stage['name']}: {stage['width']}x{stage['height']}, {stage['video_tokens']:,} "
            f"video + {stage['audio_tokens']} audio tokens, {stage['passes']} passes x "
            f"{stage['tflop_per_pass']:,.1f} TFLOP"
        )
    if eta["basis"] == "measured":
        made = f"measured on this fleet ({eta['samples']} jobs of this size)"
    else:
        made = (
            f"from FLOPs at {eta['utilisation']:.0%} of {eta['peak_tflops']:g} TFLOP/s "
            "(nothing of this size measured yet)"
        )
    if answer["eta_seconds"] is None:
        lines.append(f"eta: none, no live worker serves {answer['model']} (a run: {made})")
    else:
        lines.append(
            f"eta: {answer['eta_seconds']:g} s ({eta['queued_ahead']} queued ahead, "
            f"{eta['workers']} workers; this job's run {eta['run_seconds']:g} s, {made})"
        )
    return lines
