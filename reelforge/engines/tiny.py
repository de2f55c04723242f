"""A tiny, randomly initialised LTX-2 checkpoint, built fully offline.

Real weights cannot be downloaded everywhere (CI, laptops, this repo's test machines), but
the engine must still run the real diffusers code path. So we build every component of an
`LTX2Pipeline` with tiny random weights, `save_pretrained` it, and the engine loads it with
the same `from_pretrained` call real weights take. The output is random noise.

What keeps it fast: the video VAE has the real 32x spatial / 8x temporal compression, so the
transformer sees the real (small) token count; everything else is a few channels wide.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

MARKER = "reelforge.json"  # read by the engine for per-checkpoint defaults
# Defaults the engine uses for this checkpoint: a few steps keep a call well under a second
# at small sizes (guidance runs 4 transformer passes per step).
TINY_DEFAULTS = {"tiny": True, "default_steps": 3, "fast_steps": 2}

_SPECIAL = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
_IMAGE_SPECIAL = ["<start_of_image>", "<end_of_image>", "<image_soft_token>"]
_HIDDEN = 32  # text hidden size == connectors' heads x head_dim == transformer caption_channels
_TEXT_LAYERS = 2
_IMAGE_SIZE = 16  # vision tower input (prompt enhancement with an image)
_IMAGE_TOKENS = 4  # soft tokens per image after the projector's pooling

# Gemma's turn format, enough for diffusers' enhance_prompt (system + user, text or image).
_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "<start_of_turn>{{ 'user' if role == 'system' else role }}\n"
    "{% if message['content'] is string %}{{ message['content'] | trim }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<start_of_image>"
    "{% elif item['type'] == 'text' %}{{ item['text'] | trim }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_turn>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def build_tiny_checkpoint(path: Path, distilled: bool = False) -> Path:
    """Build the tiny random checkpoint into `path` (created; overwritten if present).

    Deterministic: the same diffusers/transformers versions give the same weights. It has
    a tiny `latent_upsampler/` too; `distilled` marks it distilled, so that the engine
    runs the distilled schedules on it (and the two-stage path for `fast`).
    """
    import torch
    from diffusers import LTX2Pipeline

    # 1. Seed everything random that follows
    torch.manual_seed(0)
    # 2. Text side: tokenizer, Gemma 3 text encoder, processor (for prompt enhancement)
    tokenizer = _tokenizer()
    text_encoder = _text_encoder(len(tokenizer), tokenizer)
    processor = _processor(tokenizer)
    # 3. Diffusion side
    pipe: Any = LTX2Pipeline(  # Any: diffusers' lazy imports hide its methods from mypy
        scheduler=_scheduler(),
        vae=_video_vae(),
        audio_vae=_audio_vae(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        connectors=_connectors(),
        transformer=_transformer(),
        vocoder=_vocoder(),
        processor=processor,
    )
    # 4. Save, then mark as tiny so the engine picks the fast defaults and warns
    path.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(path)
    _latent_upsampler().save_pretrained(path / "latent_upsampler")
    marker = {**TINY_DEFAULTS, "distilled": True} if distilled else TINY_DEFAULTS
    (path / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return path


def _tokenizer():
    from transformers import GemmaTokenizer

    # Byte-level fallback covers any text; printable ASCII keeps common prompts 1 char/token.
    pieces = _SPECIAL + _IMAGE_SPECIAL + [f"<0x{i:02X}>" for i in range(256)]
    pieces += ["▁", "\n"] + [c for c in string.printable if c not in string.whitespace]
    vocab: dict[str, int] = {}
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    tokenizer = GemmaTokenizer(
        vocab=vocab,
        merges=[],
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
            "sot_token": "<start_of_turn>",
            "eot_token": "<end_of_turn>",
        },
        model_max_length=1_000_000,  # like Gemma: the pipelines pass their own max length
    )
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def _text_encoder(vocab_size: int, tokenizer):
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    config = Gemma3Config(
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": _HIDDEN,
            "intermediate_size": 64,
            "num_hidden_layers": _TEXT_LAYERS,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "query_pre_attn_scalar": 16,
            "sliding_window": 64,
            "max_position_embeddings": 8192,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": _IMAGE_SIZE,
            "patch_size": 4,
            "vision_use_head": False,
        },
        mm_tokens_per_image=_IMAGE_TOKENS,
        boi_token_index=tokenizer.convert_tokens_to_ids("<start_of_image>"),
        eoi_token_index=tokenizer.convert_tokens_to_ids("<end_of_image>"),
        image_token_index=tokenizer.convert_tokens_to_ids("<image_soft_token>"),
    )
    return Gemma3ForConditionalGeneration(config).eval()


def _processor(tokenizer):
    from transformers import Gemma3ImageProcessorPil, Gemma3Processor

    image_processor = Gemma3ImageProcessorPil(size={"height": _IMAGE_SIZE, "width": _IMAGE_SIZE})
    return Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=_CHAT_TEMPLATE,
        image_seq_length=_IMAGE_TOKENS,
    )


def _connectors():
    from diffusers.pipelines.ltx2 import LTX2TextConnectors

    return LTX2TextConnectors(
        caption_channels=_HIDDEN,
        text_proj_in_factor=_TEXT_LAYERS + 1,  # hidden states of every layer + embeddings
        video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32,
        rope_double_precision=False,
        rope_type="split",
    )


def _transformer():
    from diffusers import LTX2VideoTransformer3DModel

    return LTX2VideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,  # audio latent channels (2) x latent mel bins (2)
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=2,
        qk_norm="rms_norm_across_heads",
        caption_channels=_HIDDEN,
        rope_double_precision=False,
        rope_type="split",
    )


def _video_vae():
    from diffusers import AutoencoderKLLTX2Video

    # Real compression: patch 4 x three 2x spatiotemporal stages = 32x spatial, 8x temporal.
    vae = AutoencoderKLLTX2Video(
        latent_channels=8,
        block_out_channels=(8, 8, 8),
        decoder_block_out_channels=(8, 8, 8),
        layers_per_block=(1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True),
        decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatiotemporal",) * 3,
        upsample_type=("spatiotemporal",) * 3,
        upsample_residual=(False, False, False),
        upsample_factor=(1, 1, 1),
        patch_size=4,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    return vae


def _audio_vae():
    from diffusers import AutoencoderKLLTX2Audio

    return AutoencoderKLLTX2Audio(
        base_channels=4,
        output_channels=2,
        ch_mult=(1,),
        num_res_blocks=1,
        attn_resolutions=None,
        in_channels=2,
        resolution=32,
        latent_channels=2,
        norm_type="pixel",
        causality_axis="height",
        dropout=0.0,
        mid_block_add_attention=False,
        sample_rate=16000,
        mel_hop_length=160,
        is_causal=True,
        mel_bins=8,
    )


def _vocoder():
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    # 8 x 5 x 4 = 160 samples per mel frame = the audio VAE's hop: a true 16 kHz waveform.
    return LTX2Vocoder(
        in_channels=2 * 8,  # audio VAE output channels x mel bins
        hidden_channels=16,
        out_channels=2,
        upsample_kernel_sizes=[16, 10, 8],
        upsample_factors=[8, 5, 4],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1,
        output_sampling_rate=16000,
    )


def _scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler()


def _latent_upsampler():
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

    # the video VAE's 8 latent channels; 32 inside (its GroupNorms take groups of 32)
    return LTX2LatentUpsamplerModel(
        in_channels=8,
        mid_channels=32,
        num_blocks_per_stage=1,
        dims=3,
        spatial_upsample=True,
        temporal_upsample=False,
        rational_spatial_scale=2.0,
        use_rational_resampler=False,
    )
