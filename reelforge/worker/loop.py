"""The worker: claim -> ingest inputs -> engine -> encode mp4 -> storage -> finish.

One worker process serves one device; the engine is loaded once and stays resident.
A job ends COMPLETED, or FAILED for its request's sake; a fault of this machine (a full
disk, a storage or database error) puts it back in the queue for later (faults.py). A
database that is down never ends the worker: it backs off and tries again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from reelforge import endpoints, jobs
from reelforge.engines import Engine
from reelforge.errors import JobError
from reelforge.jobs import Job, JobQueue, fleet
from reelforge.jobs.history import thumbnail_key
from reelforge.jobs.wakeup import Wakeup
from reelforge.media.conform import cover_frame, retimed_count
from reelforge.media.encode import choose_codec, encode_mp4
from reelforge.media.probe import probe
from reelforge.settings import Settings
from reelforge.storage import UrlSigner, load_secret, open_storage
from reelforge.task import Clip, GenerationTask
from reelforge.webhooks.delivery import WebhookSender
from reelforge.worker import cleanup, faults
from reelforge.worker.heartbeat import Heartbeat
from reelforge.worker.inputs import Inputs

log = logging.getLogger("reelforge.worker")

DB_RETRY_FIRST_SECONDS = 1.0  # a database fault: wait 1 s, doubling ...
DB_RETRY_MAX_SECONDS = 30.0  # ... up to 30 s, then every 30 s until it answers
THUMBNAIL_QUALITY = 85  # JPEG quality of the first frame shown in the history


class Shutdown(BaseException):
    """Raised in the worker's main thread by SIGTERM/SIGINT: hand the job back, exit."""


@dataclass(frozen=True)
class Output:
    """A stored result, waiting to be recorded."""

    key: str  # storage key of the mp4
    video: dict[str, Any]  # its facts (media.probe)
    inference_time: float  # seconds from engine start to encoded file
    cost: float  # the endpoint's price, for jobs submitted without one
    timings: dict[str, float]  # seconds per stage, from the claim to the stored file


class Worker:
    def __init__(self, settings: Settings, engine: Engine, queue: JobQueue | None = None):
        self.settings = settings
        self.engine = engine
        self.queue = queue or jobs.open_queue(settings)
        self.db = self.queue.db
        self.storage = open_storage(settings)
        signer = UrlSigner(load_secret(settings.signing_secret, settings.data_dir))
        self.inputs = Inputs(settings, signer, self.storage)
        self.hostname = socket.gethostname()
        self.id = f"{self.hostname}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.slugs = served_slugs(settings)

    def run(self, stop: threading.Event, ready: Callable[[], None] | None = None) -> None:
        """Serve jobs until `stop` is set (checked between jobs). `ready()` is called once,
        when the worker is registered and about to claim."""
        db = self.db
        wakeup = Wakeup(db)
        backoff = faults.Backoff(DB_RETRY_FIRST_SECONDS, DB_RETRY_MAX_SECONDS)
        registered = False
        last_beat = 0.0
        # the outbox's sender: a thread of every worker, from registration to exit
        sender = WebhookSender(self.settings, db, self.storage, self.inputs.signer)
        try:
            while not stop.is_set():
                try:
                    if not registered:
                        self._start(ready)
                        registered = True
                        sender.start()
                    # idle presence at the heartbeat rate, not at every poll (a write each
                    # time); while a job runs, its Heartbeat thread keeps it fresh
                    if time.monotonic() - last_beat >= self.settings.heartbeat_seconds:
                        self._presence(None)
                        last_beat = time.monotonic()
                    job = self.queue.claim(self.id, self.slugs)
                    backoff.reset()
                except Exception as exc:
                    fault = faults.fault_of(exc)
                    if fault is None:
                        raise
                    delay = backoff.next()
                    log.warning(
                        "worker %s: %s (%s); trying again in %g s",
                        self.id,
                        fault.what,
                        fault.detail,
                        delay,
                    )
                    stop.wait(delay)
                    continue
                if job is None:
                    wakeup.wait(self.settings.poll_seconds)
                    continue
                self._presence(job.id)
                self.process(job)
                self._presence(None, finished=True)
                last_beat = time.monotonic()
        finally:
            sender.stop()
            wakeup.close()
            if registered:
                try:
                    fleet.unregister(db, self.id)
                except Exception as exc:  # a full disk: the row lapses and shows as gone
                    log.warning("could not unregister %s (%s)", self.id, faults.one_line(exc))

    def _start(self, ready: Callable[[], None] | None) -> None:
        within = fleet.live_window(self.settings.heartbeat_seconds)
        cleanup.remove_leftovers(self.db, self.hostname, within)
        fleet.register(self.db, describe(self.id, self.engine, self.slugs))
        log.info("worker %s ready (%s), serving %s", self.id, self.engine.name, self.slugs)
        if ready is not None:
            ready()

    def _presence(self, current_job: str | None, *, finished: bool = False) -> None:
        """Renew this worker's row; best effort (the job's own writes are what count)."""
        try:
            fleet.beat(self.db, self.id, current_job, finished=finished)
        except Exception as exc:
            if faults.fault_of(exc) is None:
                raise
            log.warning("could not renew the presence of %s (%s)", self.id, faults.one_line(exc))

    def process(self, job: Job) -> None:
        """Run one claimed job to COMPLETED or FAILED, or back to the queue after a fault
        of this machine's; never raises for the job's sake."""
        log.info("job %s (%s) attempt %d started", job.id, job.slug, job.attempt)
        with Heartbeat(self.queue, job, self.settings.heartbeat_seconds) as beat:
            finish: Callable[[], bool]
            try:
                try:
                    output = self._produce(job, beat)
                except JobError as exc:
                    log.info("job %s failed: %s", job.id, exc)
                    finish = functools.partial(self.queue.fail, job, str(exc))
                except Exception as exc:
                    finish = self._after_crash(job, exc)
                else:
                    finish = functools.partial(self._record, job, output)
                self._write(job, finish, beat)
            except Shutdown:
                try:
                    self.queue.release(job)
                    log.info("job %s handed back to the queue", job.id)
                except Exception as exc:  # its lease will lapse, and it runs again then
                    log.warning("could not hand %s back (%s)", job.id, faults.one_line(exc))
                raise

    def _after_crash(self, job: Job, exc: Exception) -> Callable[[], bool]:
        """The write that ends a job whose run raised `exc`: back to the queue after a
        fault of this machine, FAILED after a bug (or too many faults)."""
        fault = faults.fault_of(exc)
        if fault is None:  # a bug or a crashed library: the job fails, we go on
            log.error("job %s crashed", job.id, exc_info=exc)
            error = f"internal error while generating: {type(exc).__name__}"
            return functools.partial(self.queue.fail, job, error)
        if job.fault_retries >= self.settings.max_fault_retries:
            # the user learns what kind of fault; the log keeps its details (paths, hosts)
            error = f"gave up after {job.fault_retries} retries: {fault.what} on the server"
            log.error("job %s: %s (%s)", job.id, error, fault.detail)
            return functools.partial(self.queue.fail, job, error)
        delay = faults.retry_delay(job.fault_retries, self.settings.fault_retry_seconds)
        log.warning(
            "job %s hit %s (%s); back in the queue, runs again in %g s",
            job.id,
            fault.what,
            fault.detail,
            delay,
        )
        return functools.partial(self.queue.retry_later, job, f"retrying after {fault.what}", delay)

    def _write(self, job: Job, finish: Callable[[], bool], beat: Heartbeat) -> None:
        """Record how the job ended, trying again while the database fails: the result
        is made already, and a worker that gave up here would leave the job to its lease."""
        backoff = faults.Backoff(DB_RETRY_FIRST_SECONDS, DB_RETRY_MAX_SECONDS)
        while True:
            try:
                finish()
                return
            except Exception as exc:
                fault = faults.fault_of(exc)
                if fault is None:  # a bug: the job fails (if it still can), the worker goes on
                    log.error("recording the end of job %s failed", job.id, exc_info=exc)
                    error = f"internal error while recording the result: {type(exc).__name__}"
                    with contextlib.suppress(Exception):
                        self.queue.fail(job, error)
                    return
                if beat.claim_lost.is_set():  # another worker has it now; nothing to record
                    return
                delay = backoff.next()
                log.warning(
                    "could not record the end of job %s (%s: %s); trying again in %g s",
                    job.id,
                    fault.what,
                    fault.detail,
                    delay,
                )
                time.sleep(delay)

    def _produce(self, job: Job, beat: Heartbeat) -> Output:
        endpoint = endpoints.get(job.slug)
        if endpoint is None:  # a slug removed after the job was accepted
            raise JobError(f"model {job.slug} is no longer served here")
        with tempfile.TemporaryDirectory(prefix=cleanup.workdir_prefix(job.id)) as tmp:
            workdir = Path(tmp)
            # 1. Fetch and decode the inputs
            beat.progress(0.01, "fetching inputs")
            media = self.inputs.ingest_all(endpoint.media_fields, job.params, workdir)
            # 2. Resolve the parameters into one engine task
            task = endpoint.plan(job.params, media)
            # 3. Generate (progress 0.05 .. 0.9 of the whole job)
            started = time.monotonic()
            clip = self.engine.generate(
                task,
                lambda fraction, stage: beat.progress(0.05 + 0.85 * fraction, stage),
                beat.cancelled,
            )
            _check_clip(task, clip)  # an engine's mistake fails the job, never ships
            # 4. Encode the exact output size, its first frame as the thumbnail, and
            #    check what we made
            beat.progress(0.9, "encoding mp4")
            out = workdir / "output.mp4"
            encode_mp4(
                clip, task.width, task.height, out, choose_codec(getattr(self.engine, "device", ""))
            )
            thumbnail = workdir / "thumbnail.jpg"
            write_thumbnail(clip, task.width, task.height, thumbnail)
            facts = probe(out)
            inference_time = time.monotonic() - started
            # 5. Store (whatever goes wrong there is the store's fault, not the request's)
            beat.progress(0.95, "uploading")
            key = f"outputs/{job.id}/{job.attempt}.mp4"
            self._store(key, out, thumbnail)
        return Output(
            key,
            dataclasses.asdict(facts),
            inference_time,
            endpoint.price(job.params),
            beat.clock.timings(),
        )

    def _store(self, key: str, mp4: Path, thumbnail: Path) -> None:
        """The mp4 under `key`, then its thumbnail; a StorageFault leaves neither."""
        stored: list[str] = []
        try:
            for name, source in ((key, mp4), (thumbnail_key(key), thumbnail)):
                self.storage.put(name, source)
                stored.append(name)
        except Exception as exc:
            for name in stored:  # best effort: the next attempt writes the same keys
                with contextlib.suppress(Exception):
                    self.storage.delete(name)
            raise faults.StorageFault(f"could not store {key}") from exc

    def _delete_output(self, key: str) -> None:
        """Remove a stored result that will not be recorded: the mp4 and its thumbnail."""
        self.storage.delete(key)
        self.storage.delete(thumbnail_key(key))

    def _record(self, job: Job, output: Output) -> bool:
        """COMPLETED with its stored output: a job is never COMPLETED without its file."""
        finished = self.queue.complete(
            job,
            output_key=output.key,
            video=output.video,
            inference_time=output.inference_time,
            cost=output.cost,
            measured=output.timings,
        )
        if not finished:
            current = self.queue.get(job.id)
            if current is not None and current.output_key == output.key:
                return True  # an earlier try committed, though its answer was lost
            # our claim was taken over or the job expired meanwhile
            self._delete_output(output.key)
            log.warning("job %s finished after losing its claim; result dropped", job.id)
        else:
            log.info("job %s completed in %.1f s", job.id, output.inference_time)
        return finished


def served_slugs(settings: Settings) -> list[str]:
    """The endpoints this worker claims jobs for (REELFORGE_WORKER_SLUGS, else all)."""
    if not settings.worker_slugs:
        return list(endpoints.SLUGS)
    slugs = [slug.strip() for slug in settings.worker_slugs.split(",") if slug.strip()]
    unknown = [slug for slug in slugs if endpoints.get(slug) is None]
    if unknown or not slugs:
        raise ValueError(
            f"REELFORGE_WORKER_SLUGS: unknown endpoint(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(endpoints.SLUGS)}"
        )
    return slugs


def describe(worker_id: str, engine: Engine, slugs: list[str]) -> fleet.WorkerInfo:
    """What a worker tells the fleet about itself: device and its memory, as the engine
    reports them (an engine plugged in through REELFORGE_ENGINE may not say: "unknown")."""
    device = str(getattr(engine, "device", None) or "unknown")
    memory = getattr(engine, "memory_bytes", None)
    memory = int(memory) if isinstance(memory, int) and memory > 0 else None
    host, pid, _ = worker_id.rsplit(":", 2)
    return fleet.WorkerInfo(
        id=worker_id,
        hostname=host,
        pid=int(pid),
        slugs=slugs,
        engine=engine.name,
        device=device,
        memory_bytes=memory,
    )


def write_thumbnail(clip: Clip, width: int, height: int, path: Path) -> None:
    """The first frame of the output as a JPEG of the output's size: conformed exactly as
    `encode_mp4` conforms every frame (`cover_frame`), before compression."""
    first = cover_frame(np.asarray(clip.frames[0]), width, height)
    Image.fromarray(np.ascontiguousarray(first)).save(path, "JPEG", quality=THUMBNAIL_QUALITY)


def _check_clip(task: GenerationTask, clip: Clip) -> None:
    """The engine made what `task` asked for, else a JobError saying what was expected and
    what came: `task.fps`; `task.num_frames` frames (extend: the input at that rate, as
    the engines retime it, then the new frames); audio exactly when the task asked for
    it, as long as the frames within one frame's duration."""
    if clip.fps != task.fps:
        raise JobError(f"the engine returned {clip.fps:g} fps; the task asked for {task.fps}")
    expected = task.num_frames
    asked = f"{expected}"
    if task.kind == "extend" and task.video is not None:
        kept = retimed_count(len(task.video.frames), task.video.fps, task.fps)
        expected += kept
        asked = f"{expected} ({kept} of the input + {task.num_frames} new)"
    if len(clip.frames) != expected:
        raise JobError(f"the engine returned {len(clip.frames)} frames; the task asked for {asked}")
    if (clip.audio is not None) != task.audio:
        made = "no audio" if clip.audio is None else "audio"
        wanted = "asked for it" if task.audio else "asked for none"
        raise JobError(f"the engine returned {made}; the task {wanted}")
    if clip.audio is None:
        return
    if not clip.sample_rate:
        raise JobError("the engine returned audio without a sample rate")
    audio_seconds = np.shape(clip.audio)[-1] / clip.sample_rate
    if abs(audio_seconds - clip.duration) > 1 / task.fps:
        raise JobError(
            f"the engine returned {audio_seconds:.3f} s of audio for {clip.duration:.3f} s of "
            f"video ({len(clip.frames)} frames); they must last as long"
        )
