"""Encode benchmark: our `encode_mp4` against diffusers' `encode_video` on the same frames:
seconds, file size and SSIM of the luma plane.

    python bench/encode.py                         # 1080p, 193 frames (8 s at 24 fps), 3 rounds
    python bench/encode.py --frames 49 --size 960x540 --rounds 1   # a quick look

The frames are synthetic but built to compress like footage, not like noise: a 1/f
("pink") texture in three colours (the power spectrum of natural images), panned and
slowly zoomed at sub-pixel speeds (so motion search has real work to do), a soft-edged
disc of another texture crossing it (occlusion and revealed background), a moving
vertical light gradient, and per-frame grain of about 2 levels (what generated and
filmed video both carry). All of it comes from one seeded generator: every run encodes
the same frames. Random noise alone would be incompressible and rank encoders by
nothing but bit rate. The audio is 8 s of stereo at 48 kHz (the rate `encode_mp4`
delivers): two detuned tones with a slow tremolo plus quiet noise.

Both encoders run in this one process, alternating (A B, B A, A B, ...), on the 2 shared
cores: read the ratios. Each mp4 is decoded with PyAV and its Y plane compared with the
Y plane the encoder was given (the source frames converted the way that encoder converts
them: ours BT.709, diffusers' swscale's default BT.601, both limited range), so the SSIM
measures what compression lost, not the choice of colour matrix. SSIM is scikit-image's
`structural_similarity` (7x7 window, data range 255) per frame, averaged; it is computed
once per distinct file (an encoder that gives the same bytes every round is measured once).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/encode.py`, this file's directory comes first on sys.path, where
# bench/queue.py would shadow the standard library's `queue`
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import argparse  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import av  # noqa: E402
import numpy as np  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

from reelforge.media import encode as ours  # noqa: E402
from reelforge.task import Clip  # noqa: E402

FPS = 24
RATE = ours.AUDIO_RATE
SEED = 12


# 1. The source: frames and audio ---------------------------------------------------------


def _pink(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A (height, width) texture with a 1/f^1.5 amplitude spectrum, scaled to [0, 1]."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    radius[0, 0] = 1.0
    spectrum = rng.normal(size=radius.shape) + 1j * rng.normal(size=radius.shape)
    field = np.fft.irfft2(spectrum / radius**1.5, s=(height, width))
    low, high = np.percentile(field, [1, 99])
    return np.clip((field - low) / (high - low), 0, 1).astype(np.float32)


def _shifted(texture: np.ndarray, y: float, x: float, height: int, width: int) -> np.ndarray:
    """The (height, width) window of `texture` at sub-pixel offset (y, x), bilinear."""
    iy, ix = int(y), int(x)
    fy, fx = y - iy, x - ix
    win = texture[iy : iy + height + 1, ix : ix + width + 1]
    top = win[:-1, :-1] * (1 - fx) + win[:-1, 1:] * fx
    bottom = win[1:, :-1] * (1 - fx) + win[1:, 1:] * fx
    return top * (1 - fy) + bottom * fy


def make_frames(count: int, width: int, height: int) -> np.ndarray:
    """`count` deterministic RGB frames (uint8, (T, H, W, 3)); see the module docstring."""
    rng = np.random.default_rng(SEED)
    margin = 64 + count  # room for the pan
    colours = np.array([[0.95, 0.7, 0.45], [0.35, 0.55, 0.9], [0.5, 0.8, 0.4]], np.float32)
    back = [_pink(rng, height + 2 * margin, width + 2 * margin) for _ in range(3)]
    disc_texture = _pink(rng, height + 2, width + 2)
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    frames = np.empty((count, height, width, 3), np.uint8)
    for t in range(count):
        # background: three tinted layers drifting at different sub-pixel speeds
        layers = [
            _shifted(
                back[i], margin + (0.37 + 0.2 * i) * t, margin + (0.71 - 0.3 * i) * t, height, width
            )
            for i in range(3)
        ]
        rgb = sum(layer[..., None] * colours[i] for i, layer in enumerate(layers)) / 1.6
        # a light gradient sweeping down
        light = 0.75 + 0.35 * np.cos((rows / height - t / max(count, 1)) * np.pi)
        rgb = rgb * light[..., None]
        # a soft disc with its own texture crossing the frame
        cy = height * (0.5 + 0.25 * np.sin(t / 30))
        cx = width * (0.15 + 0.7 * t / max(count - 1, 1))
        dist = np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2)
        alpha = np.clip((height * 0.22 - dist) / 12, 0, 1)[..., None]
        inner = _shifted(
            disc_texture, 1 + 0.5 * np.sin(t / 9), 1 + 0.5 * np.cos(t / 11), height, width
        )
        disc = inner[..., None] * np.array([1.0, 0.85, 0.6], np.float32)
        rgb = rgb * (1 - alpha) + disc * alpha
        # grain
        grain = rng.normal(0, 1.5 / 255, size=(height, width, 1)).astype(np.float32)
        frames[t] = np.clip((rgb + grain) * 255 + 0.5, 0, 255).astype(np.uint8)
    return frames


def make_audio(count: int) -> np.ndarray:
    """Stereo float32 (2, samples) at 48 kHz lasting `count` frames at 24 fps."""
    rng = np.random.default_rng(SEED + 1)
    t = np.arange(round(count * RATE / FPS)) / RATE
    tremolo = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)
    left = 0.3 * np.sin(2 * np.pi * 220 * t) * tremolo
    right = 0.3 * np.sin(2 * np.pi * 221.5 * t + 1.0) * tremolo[::-1]
    audio = np.stack([left, right]) + rng.normal(0, 0.02, size=(2, len(t)))
    return audio.astype(np.float32)


# 2. The encoders -------------------------------------------------------------------------


def encode_ours(frames: np.ndarray, audio: np.ndarray, path: Path) -> None:
    height, width = frames.shape[1:3]
    ours.encode_mp4(Clip(frames, float(FPS), audio, RATE), width, height, path)


def encode_diffusers(frames: np.ndarray, audio: np.ndarray, path: Path) -> None:
    import torch
    from diffusers.utils.export_utils import encode_video

    # what an LTX-2 pipeline script passes: uint8 frames, (2, samples) audio tensor
    encode_video(torch.from_numpy(frames), FPS, str(path), torch.from_numpy(audio), RATE)


ENCODERS: dict[str, tuple[Callable[[np.ndarray, np.ndarray, Path], None], str]] = {
    "reelforge encode_mp4": (encode_ours, "itu709"),
    "diffusers encode_video": (encode_diffusers, "itu601"),
}


# 3. The measures -------------------------------------------------------------------------


def _source_luma(frame: np.ndarray, colorspace: str) -> np.ndarray:
    converted = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
        format="yuv420p", dst_colorspace=colorspace, dst_color_range="MPEG"
    )
    return converted.to_ndarray()[: frame.shape[0]]  # yuv420p as one plane: Y on top


def ssim_y(path: Path, frames: np.ndarray, colorspace: str) -> tuple[float, int]:
    """Mean SSIM of the file's Y planes against the source's, and the decoded frame count."""
    scores = []
    with av.open(str(path)) as container:
        for index, decoded in enumerate(container.decode(video=0)):
            got = decoded.reformat(format="yuv420p").to_ndarray()[: decoded.height]
            want = _source_luma(frames[index], colorspace)
            scores.append(structural_similarity(want, got, data_range=255))
    return statistics.fmean(scores), len(scores)


def _audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base) if stream.duration else float("nan")


# 4. The run ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=193, help="frames at 24 fps (193 = 8 s)")
    parser.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT, both even")
    parser.add_argument("--rounds", type=int, default=3, help="encodes per encoder, alternating")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    began = time.monotonic()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, PyAV {av.__version__}, "
        f"{args.frames} frames at {width}x{height}, {args.rounds} rounds"
    )
    frames = make_frames(args.frames, width, height)
    audio = make_audio(args.frames)
    print(f"source made in {time.monotonic() - began:.1f} s", flush=True)

    names = list(ENCODERS)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    files: dict[str, dict[str, Path]] = {name: {} for name in names}  # digest -> file
    with tempfile.TemporaryDirectory(prefix="bench-encode-") as tmp:
        for round_ in range(args.rounds):
            for name in names if round_ % 2 == 0 else names[::-1]:
                path = Path(tmp) / f"{names.index(name)}-{round_}.mp4"
                start = time.perf_counter()
                ENCODERS[name][0](frames, audio, path)
                seconds[name].append(time.perf_counter() - start)
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                files[name].setdefault(digest, path)
                print(f"  round {round_ + 1} {name}: {seconds[name][-1]:.1f} s", flush=True)
        rows = []
        for name in names:
            sizes, scores, counts = [], [], []
            for path in files[name].values():
                sizes.append(path.stat().st_size)
                score, count = ssim_y(path, frames, ENCODERS[name][1])
                scores.append(score)
                counts.append(count)
            rows.append(
                (
                    name,
                    statistics.median(seconds[name]),
                    statistics.fmean(sizes),
                    statistics.fmean(scores),
                    counts[0],
                    len(files[name]),
                    _audio_seconds(next(iter(files[name].values()))),
                )
            )

    print()
    print("| encoder                | median s | MB    | SSIM-Y | frames | audio s | files |")
    print("|------------------------|----------|-------|--------|--------|---------|-------|")
    for name, secs, size, score, count, distinct, audio_s in rows:
        print(
            f"| {name:<22} | {secs:8.1f} | {size / 1e6:5.2f} | {score:.4f} | {count:6d} "
            f"| {audio_s:7.2f} | {distinct:>5} |"
        )
    (_, our_s, our_size, our_ssim, *_), (_, their_s, their_size, their_ssim, *_) = rows
    print(
        f"\nours / diffusers: time {our_s / their_s:.2f}x, size {our_size / their_size:.2f}x, "
        f"SSIM-Y {our_ssim:.4f} vs {their_ssim:.4f} ({our_ssim - their_ssim:+.4f})"
    )
    print(f"our libx264 settings: preset {ours.PRESET}, crf {ours.CRF}, {ours.X264_PARAMS}")
    print(
        f"command: python bench/encode.py --frames {args.frames} --size {args.size} "
        f"--rounds {args.rounds}"
    )
    print(f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
