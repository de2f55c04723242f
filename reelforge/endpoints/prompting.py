"""The final prompt an engine sees: the user's text with the style preset, the sound
description and the lip-sync dialogue woven in, and the `thinking_type` rule.

LTX-2 makes picture and sound from the prompt alone: no diffusers LTX-2 pipeline takes a
waveform, so sound effects are described in words and speech is written as quoted
dialogue with a description of the voice speaking it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STYLES: tuple[str, ...] = ("anime", "3d_animation", "clay", "comic", "cyberpunk")

_STYLE_PHRASES: dict[str, str] = {
    "anime": "Japanese anime style, cel-shaded characters, clean line art, vibrant colors",
    "3d_animation": "3D animated film style, stylized CGI characters, soft global illumination",
    "clay": "claymation style, handmade stop-motion clay figures with fingerprint textures",
    "comic": "comic book style, bold ink outlines, halftone shading, flat saturated colors",
    "cyberpunk": "cyberpunk style, neon-lit rainy megacity, high contrast teal and magenta",
}

# lip_sync_tts_speaker_id -> the voice, described so that the model can tell them apart.
# "1".."9" are the names the pages give. The pages count 14 voices but do not name "10".."14":
# those five names and all the descriptions are Reelforge's own invention.
VOICES: dict[str, str] = {
    "auto": "a natural, engaging voice that suits the speaker",
    "1": "Emily, a warm, friendly young woman's voice with a clear American accent",
    "2": "James, a deep, calm adult man's voice with a measured, confident delivery",
    "3": "Isabella, a soft, elegant woman's voice with a gentle, melodic tone",
    "4": "Liam, an energetic young man's voice, upbeat and fast-paced",
    "5": "Chloe, a bright, cheerful teenage girl's voice, playful and expressive",
    "6": "Adrian, a smooth, low baritone man's voice with a refined British accent",
    "7": "Harper, a crisp, articulate woman's voice like a news presenter",
    "8": "Ava, a breathy, intimate young woman's voice, almost whispering",
    "9": "Sophia, a mature, authoritative woman's voice, steady and rich",
    "10": "Noah, a gravelly, weathered older man's voice, slow and thoughtful",
    "11": "Mia, a small child's voice, high-pitched, curious and excited",
    "12": "Ethan, a husky young man's voice with a relaxed Australian accent",
    "13": "Grace, a kind elderly woman's voice, slightly shaky and gentle",
    "14": "Marcus, a booming, theatrical man's voice like a movie-trailer narrator",
}
SPEAKER_IDS: tuple[str, ...] = tuple(VOICES)

# thinking_type="auto": let the model rewrite prompts shorter than this many words; a longer
# prompt is already a detailed scene description and is kept as written.
AUTO_ENHANCE_MAX_WORDS = 25


def compose(
    prompt: str,
    *,
    style: str | None = None,
    sound: str | None = None,
    speech: str | None = None,
    speaker_id: str | None = None,
) -> str:
    """The final prompt. `sound` is None for no sound description ("" = generic ambience);
    `speech` is None for no dialogue; `speaker_id` None means "auto"."""
    parts = [prompt.strip()]
    if style:
        parts.append(f"Visual style: {_STYLE_PHRASES[style]}.")
    if sound is not None:
        parts.append(f"Sound: {sound or 'natural sound effects that match the scene'}")
    if speech is not None:
        voice = VOICES[speaker_id or "auto"]
        line = speech.strip().replace('"', "'")  # keep the quoting unambiguous
        parts.append(f'The character speaks with lip-synced dialogue in {voice}: "{line}"')
    if len(parts) == 1:
        return parts[0]  # nothing woven in: the user's words exactly
    return " ".join(_sentence(p) for p in parts)


def enhance_prompt(thinking_type: str, prompt: str) -> bool:
    """Whether the model should rewrite the prompt: enabled/disabled, or by length on auto."""
    if thinking_type == "auto":
        return len(prompt.split()) < AUTO_ENHANCE_MAX_WORDS
    return thinking_type == "enabled"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", '"', "…")) else text + "."


def compose_from(params: Mapping[str, Any]) -> str:
    """`compose` from the Pixverse 5 family's parameters: style, sound_effect_switch and
    sound_effect_content, lip_sync_switch, lip_sync_tts_content and lip_sync_tts_speaker_id
    (those an endpoint lacks count as off)."""
    sound = None
    if params.get("sound_effect_switch"):
        sound = params.get("sound_effect_content") or ""
    lip_sync = params.get("lip_sync_switch")
    return compose(
        params["prompt"],
        style=params.get("style"),
        sound=sound,
        speech=params.get("lip_sync_tts_content") if lip_sync else None,
        speaker_id=params.get("lip_sync_tts_speaker_id"),
    )
