"""The manifest on every COMPLETED result: complete, the same for two runs of the same
request, and carried by the result, the stream's last event and the OpenAI Video."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from reelforge.engines.identity import Identity, of_checkpoint, of_directory
from reelforge.engines.ltx2 import LTX2Engine
from reelforge.settings import Settings
from reelforge.task import GenerationTask
from reelforge.worker.manifests import VERSIONED, Manifests, printable
from tests.support.fake_engine import IDENTITY

V6 = "pixverse-v6"
BODY = {
    "prompt": "a lighthouse at night",
    "duration": 1,
    "quality": "360p",
    "generate_audio_switch": False,
    "seed": 4242,
}


def _run(app, body) -> tuple[dict, bytes]:
    key = "test-admin-key"
    request_id = app.submit(key, V6, body)
    assert app.wait(key, request_id).json()["status"] == "COMPLETED"
    result = app.result(key, request_id).json()
    video = app.client.get(result["output"])
    assert video.status_code == 200
    return result, video.content


def test_the_manifest_is_complete_and_the_same_for_two_runs(app_with_worker) -> None:
    app = app_with_worker()
    first, first_bytes = _run(app, BODY)
    second, second_bytes = _run(app, BODY)
    manifest = first["manifest"]
    assert manifest["checkpoint"] == IDENTITY.as_dict()
    assert set(manifest["versions"]) == set(VERSIONED)
    assert manifest["versions"]["reelforge"] and manifest["versions"]["diffusers"]
    assert manifest["device"] == {"name": "cpu", "kind": manifest["device"]["kind"]}
    assert manifest["device"]["kind"].startswith("cpu")
    assert {"dtype", "memory_mode", "attention_backend", "engine"} <= manifest.keys()
    assert manifest["attention_backend"] == "default"
    plan = manifest["plan"]
    assert plan["output_size"] == {"width": 640, "height": 360}
    assert plan["frames"] == 25 and plan["fps"] == 24 and plan["steps"] == 10
    assert plan["generation_size"]["width"] % 32 == 0
    assert manifest["seed"] == 4242 == first["seed"]
    assert manifest["prompt"].startswith("a lighthouse at night")
    assert manifest["prompt_enhanced"] is False
    # stable: two runs, another request id and time, the same manifest and bytes
    assert second["request_id"] != first["request_id"]
    assert second["manifest"] == manifest
    assert first_bytes == second_bytes
    # the OpenAI Video of the same job carries it in its metadata
    video = app.client.get(
        f"/v1/videos/{first['request_id']}", headers={"authorization": "Bearer test-admin-key"}
    )
    assert video.status_code == 200, video.text
    assert video.json()["metadata"] == {"manifest": manifest}


def test_the_stream_s_last_event_carries_the_manifest(app_with_worker) -> None:
    app = app_with_worker()
    key = "test-admin-key"
    request_id = app.submit(key, V6, BODY)
    app.wait(key, request_id)
    with app.client.stream(
        "GET", f"/v2/requests/{request_id}/stream", headers=app.headers(key)
    ) as stream:
        data = [line[5:].strip() for line in stream.iter_lines() if line.startswith("data:")]
    last = json.loads(data[-1])
    assert last["status"] == "COMPLETED"
    assert last["manifest"]["checkpoint"] == IDENTITY.as_dict()
    assert last["manifest"]["seed"] == 4242


def test_a_changed_checkpoint_changes_the_identity(tiny_checkpoint: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_checkpoint, copy)
    original = of_checkpoint(str(tiny_checkpoint))
    assert original.sha256 is not None and original.sha256.startswith("sha256:")
    assert of_directory(copy) == original.sha256  # the same bytes anywhere: the same identity
    (copy / ".cache").mkdir()
    (copy / ".cache" / "download.metadata").write_text(str(time.time()))  # not weights
    assert of_directory(copy) == original.sha256
    weights = sorted(copy.rglob("*.safetensors"))[0]
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # one bit of one weight
    weights.write_bytes(bytes(data))
    assert of_directory(copy) != original.sha256


def test_an_unknown_hub_checkpoint_has_no_hash() -> None:
    identity = of_checkpoint("nobody-here/not-downloaded-ltx")
    assert identity == Identity(None, "hub:nobody-here/not-downloaded-ltx")


def test_the_ltx2_engine_s_manifest_names_its_plan(tiny_checkpoint: Path, tmp_path: Path) -> None:
    settings = Settings(checkpoint=str(tiny_checkpoint), data_dir=tmp_path)
    engine = LTX2Engine(settings)
    manifests = Manifests(settings, engine)
    task = GenerationTask(
        kind="text", prompt="a red fox", negative_prompt="blurry", width=96, height=64,
        num_frames=17, seed=7, audio=False,
    )  # fmt: skip
    manifests.start()
    manifest = manifests.build(task)
    assert manifest["checkpoint"] == of_checkpoint(str(tiny_checkpoint)).as_dict()
    assert manifest["dtype"] == "float32"
    assert manifest["memory_mode"] == "resident"
    assert manifest["engine"] == "reelforge.engines.ltx2.LTX2Engine"
    plan = manifest["plan"]
    assert plan["generation_size"] == {"width": 96, "height": 64}
    assert plan["schedule"] == "guided" and plan["steps"] == engine.schedule.steps
    assert plan["guidance"]["guidance_scale"] == 3.0
    assert manifest["prompt"] == "a red fox" and manifest["seed"] == 7
    # enhancement: the rewritten prompt is what the manifest names
    enhanced = GenerationTask(**{**task.__dict__, "enhance_prompt": True})
    manifests.start()
    engine.generate(enhanced, lambda *_: None, lambda: False)
    rewritten = manifests.build(enhanced)
    assert rewritten["prompt_enhanced"] is True
    assert rewritten["composed_prompt"] == "a red fox"
    assert isinstance(rewritten["prompt"], str)
    # printable text only (issue 22: the tiny checkpoint's rewrite carried NULs and U+FFFD
    # into the OpenAI metadata)
    assert all(ch.isprintable() or ch in "\n\t" for ch in rewritten["prompt"])
    assert "\ufffd" not in rewritten["prompt"]


def test_a_manifest_holds_printable_text_only() -> None:
    assert printable("a fox\x00 in\ufffd the\x1b[31m snow\n\tnext line") == (
        "a fox in the[31m snow\n\tnext line"
    )
    assert printable("ünïcödé 狐") == "ünïcödé 狐"
