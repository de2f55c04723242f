"""The real LTX-2 architecture as data: one JSON file per component of the published
Lightricks/LTX-2 checkpoint in diffusers format, each citing where its numbers come from.

    transformer.json       LTX2VideoTransformer3DModel (about 19B parameters)
    connectors.json        LTX2TextConnectors
    vae.json               AutoencoderKLLTX2Video (32x spatial, 8x temporal)
    audio_vae.json         AutoencoderKLLTX2Audio
    vocoder.json           LTX2Vocoder (24 kHz)
    latent_upsampler.json  LTX2LatentUpsamplerModel (x2 spatial, the two-stage path)
    text_encoder.json      Gemma 3 12B (Gemma3ForConditionalGeneration)
    transformer_flops.json FLOPs of one transformer pass as a function of the token counts
                           (made by `python -m reelforge.engines.flops`, checked in CI)

Reading them needs neither torch nor diffusers: the API process plans with them too.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

COMPONENTS: tuple[str, ...] = (
    "transformer",
    "connectors",
    "vae",
    "audio_vae",
    "vocoder",
    "latent_upsampler",
    "text_encoder",
)


@cache
def _read(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(f"{name}.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def spec(name: str) -> dict[str, Any]:
    """The whole document of one component: class, checkpoint, source, config."""
    if name not in (*COMPONENTS, "transformer_flops"):
        raise ValueError(f"unknown component {name!r}; known: {', '.join(COMPONENTS)}")
    return _read(name)


def config(name: str) -> dict[str, Any]:
    """The constructor arguments of one component (a fresh copy: callers may edit it)."""
    return json.loads(json.dumps(spec(name)["config"]))
