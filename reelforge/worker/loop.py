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
import shutil
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
from reelforge.media.conform import cover_frame, retimed_count, trim
from reelforge.media.encode import choose_codec, encode_mp4
from reelforge.media.probe import probe
from reelforge.settings import Settings
from reelforge.storage import UrlSigner, load_secret, open_storage
from reelforge.task import Clip, GenerationTask
from reelforge.webhooks.delivery import WebhookSender
from reelforge.worker import cleanup, faults
from reelforge.worker.heartbeat import Heartbeat
from reelforge.worker.inputs import Inputs, decoded_bytes
from reelforge.worker.interrupts import INTERRUPTS, Shutdown
from reelforge.worker.manifests import Manifests, file_sha256
from reelforge.worker.pipeline import Finisher, Prefetch, Run

log = logging.getLogger("reelforge.worker")

DB_RETRY_FIRST_SECONDS = 1.0  # a database fault: wait 1 s, doubling ...
DB_RETRY_MAX_SECONDS = 30.0  # ... up to 30 s, then every 30 s until it answers
THUMBNAIL_QUALITY = 85  # JPEG quality of the first frame shown in the history
PREPARED = 0.05  # the progress of a job whose inputs are ready; generation makes 0.05 .. 0.9
PREFETCH_AFTER_SECONDS = 0.2  # a prefetch looks for the next job once the device ran this long
PREFETCH_LOOK_SECONDS = 0.1  # how soon a prefetch notices that the device is done
SHUTDOWN_FINISH_SECONDS = 10.0  # a stopping worker finishes what it generated this long


@dataclass(frozen=True)
class Output:
    """A stored result, waiting to be recorded."""

    key: str  # storage key of the mp4
    video: dict[str, Any]  # its facts (media.probe)
    inference_time: float  # seconds from engine start to encoded file
    cost: float  # the endpoint's price, for jobs submitted without one
    timings: dict[str, float]  # seconds per stage, from the claim to the stored file
    manifest: dict[str, Any] | None = None  # what made it (worker/manifests.py)
    sha256: str | None = None  # of the mp4's bytes


class Worker:
    def __init__(self, settings: Settings, engine: Engine, queue: JobQueue | None = None):
        self.settings = settings
        self.engine = engine
        self.manifests = Manifests(settings, engine)  # the checkpoint is hashed once, here
        self.queue = queue or jobs.open_queue(settings)
        self.db = self.queue.db
        self.storage = open_storage(settings)
        signer = UrlSigner(load_secret(settings.signing_secret, settings.data_dir))
        self.inputs = Inputs(settings, signer, self.storage)
        self.hostname = socket.gethostname()
        self.id = f"{self.hostname}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.slugs = served_slugs(settings)
        self.codec = choose_codec(getattr(engine, "device", ""))
        self._in_flight: set[Run] = set()  # claimed and not ended: handed back on shutdown
        self._in_flight_lock = threading.Lock()
        self._on_device: str | None = None  # the job the device runs, for the fleet view
        self._last_beat = -float("inf")  # when this worker's presence was last renewed

    def run(self, stop: threading.Event, ready: Callable[[], None] | None = None) -> None:
        """Serve jobs until `stop` is set (checked between jobs). `ready()` is called once,
        when the worker is registered and about to claim."""
        db = self.db
        wakeup = Wakeup(db)
        backoff = faults.Backoff(DB_RETRY_FIRST_SECONDS, DB_RETRY_MAX_SECONDS)
        registered = False
        # the outbox's sender: a thread of every worker, from registration to exit
        sender = WebhookSender(self.settings, db, self.storage, self.inputs.signer)
        depth = self.settings.pipeline_depth
        finisher = Finisher(self._finish_and_end, depth) if depth else None
        prefetch: Prefetch | None = None
        try:
            ready_run: Run | None = None  # prepared while the device ran the last job
            while not stop.is_set():
                if not registered:
                    if not self._with_backoff(lambda: self._start(ready), stop, backoff):
                        continue
                    registered = True
                    sender.start()
                run, ready_run = ready_run, None
                if run is None:
                    run = self._claim_and_prepare(stop, wakeup, backoff)
                    if run is None:
                        continue
                if finisher is None:  # the serial worker: one job at a time, start to end
                    if self._device_stage(run):
                        self._finish_and_end(run)
                    continue
                # the pipelined worker: the next job is prepared while this one generates,
                # and this one is finished while the next one generates
                prefetch = None if stop.is_set() else Prefetch(
                    lambda done: self._prefetch(done, wakeup)
                )  # fmt: skip
                if self._device_stage(run):
                    if finisher.busy:  # its frames wait; the stage says so (and is timed)
                        run.beat.progress(0.9, "waiting for the encoder")
                    finisher.submit(run)
                if prefetch is not None:
                    with INTERRUPTS.interruptible():  # waiting on the prefetch thread
                        ready_run, prefetch = prefetch.result(), None
        except Shutdown:
            # hand back what the device has not made yet; let the finisher end what it has
            if prefetch is not None:
                prefetch.result_within(self.settings.heartbeat_seconds)
            if finisher is not None and not finisher.drain(SHUTDOWN_FINISH_SECONDS):
                log.warning("shutting down with jobs still finishing; handing them back")
            self._hand_back_all()
            raise
        finally:
            if finisher is not None:
                finisher.close(SHUTDOWN_FINISH_SECONDS)
            self._hand_back_all()  # a prepared job that `stop` left unrun
            sender.stop()
            wakeup.close()
            if registered:
                try:
                    fleet.unregister(db, self.id)
                except Exception as exc:  # a full disk: the row lapses and shows as gone
                    log.warning("could not unregister %s (%s)", self.id, faults.one_line(exc))

    def _with_backoff(
        self, call: Callable[[], Any], stop: threading.Event, backoff: faults.Backoff
    ) -> bool:
        """`call()`; after a fault of the database or the machine, wait out the back-off
        and return False (the caller tries again). Anything else is a bug: raised."""
        try:
            call()
        except Exception as exc:
            fault = faults.fault_of(exc)
            if fault is None:
                raise
            delay = backoff.next()
            log.warning(
                "worker %s: %s (%s); trying again in %g s", self.id, fault.what, fault.detail, delay
            )
            stop.wait(delay)
            return False
        backoff.reset()
        return True

    def _claim_and_prepare(
        self, stop: threading.Event, wakeup: Wakeup, backoff: faults.Backoff
    ) -> Run | None:
        """An idle worker: claim the next job and prepare it, or wait for one (a wake-up,
        else the poll) and return None."""
        claimed: list[Job | None] = [None]

        def claim() -> None:
            # idle presence at the heartbeat rate, not at every poll (a write each time)
            if time.monotonic() - self._last_beat >= self.settings.heartbeat_seconds:
                self._presence(None)
            claimed[0] = self.queue.claim(self.id, self.slugs, busy=self._busy())

        if not self._with_backoff(claim, stop, backoff):
            return None
        job = claimed[0]
        if job is None:
            with INTERRUPTS.interruptible():  # idle: a SIGTERM ends the wait at once
                wakeup.wait(self.settings.poll_seconds)
            return None
        run = self._begin(job)
        return run if self._stage(run, self._prepare) else None

    def _prefetch(self, device_done: threading.Event, wakeup: Wakeup) -> Run | None:
        """While the device is busy: claim and prepare the next job, at once and then on
        every wake-up (or poll) until the device is done. A fault just gives up: the idle
        loop will claim with its back-off."""
        # a job the device finishes this soon gains nothing from it, and the claim's
        # write would only delay that job's own progress and end writes
        if device_done.wait(PREFETCH_AFTER_SECONDS):
            return None
        last_claim = -float("inf")
        while True:
            due = time.monotonic() - last_claim >= self.settings.poll_seconds
            if due and self._room_for_inputs():
                last_claim = time.monotonic()
                try:
                    job = self.queue.claim(self.id, self.slugs, busy=self._busy())
                except Exception as exc:
                    if faults.fault_of(exc) is None:
                        raise
                    log.warning("prefetch: could not claim (%s)", faults.one_line(exc))
                    return None
                if job is not None:
                    run = self._begin(job)
                    if self._stage(run, self._prepare):
                        run.beat.progress(PREPARED, "waiting for the device")
                        return run
                    continue  # it ended (bad input): look for another
            if device_done.is_set():
                return None
            if wakeup.wait(PREFETCH_LOOK_SECONDS):  # a submit: look now
                last_claim = -float("inf")

    def _room_for_inputs(self) -> bool:
        """Whether a job may be prepared ahead: the decoded inputs of the jobs in flight
        (running, finishing) leave room for one more of the largest within the worker's
        budget. Otherwise the next job waits for the device, and its inputs are decoded
        once some of these are gone."""
        with self._in_flight_lock:
            held = sum(run.input_bytes for run in self._in_flight)
        settings = self.settings
        return held + settings.max_decoded_input_bytes <= settings.input_memory_budget

    # --- one job's stages ---------------------------------------------------------------

    def process(self, job: Job) -> None:
        """Run one claimed job, start to end, in this thread: to COMPLETED or FAILED, or
        back to the queue after a fault of this machine's; never raises for the job's sake."""
        run = self._begin(job)
        try:
            if self._stage(run, self._prepare) and self._device_stage(run):
                self._finish_and_end(run)
        except Shutdown:
            self._hand_back_all()
            raise

    def _begin(self, job: Job) -> Run:
        log.info("job %s (%s) attempt %d started", job.id, job.slug, job.attempt)
        beat = Heartbeat(
            self.queue, job, self.settings.heartbeat_seconds, on_device=lambda: self._on_device
        )
        run = Run(job, beat)
        run.beat.__enter__()
        with self._in_flight_lock:
            self._in_flight.add(run)
        return run

    def _stage(self, run: Run, stage: Callable[[Run], None]) -> bool:
        """Run one stage of `run`; after an error, write how the job ended and say False."""
        job = run.job
        try:
            stage(run)
            return True
        except JobError as exc:
            log.info("job %s failed: %s", job.id, exc)
            self._end(run, functools.partial(self.queue.fail, job, str(exc)))
        except Exception as exc:
            self._end(run, self._after_crash(job, exc))
        return False

    def _device_stage(self, run: Run) -> bool:
        """Generate `run` on the device; the fleet view names it meanwhile."""
        self._on_device = run.job.id
        self._presence(run.job.id)
        try:
            return self._stage(run, self._generate)
        finally:
            self._on_device = None

    def _end(self, run: Run, finish: Callable[[], bool]) -> None:
        """Write how `run` ended, then stop its heartbeat and remove its working files."""
        try:
            self._write(run.job, finish, run.beat)
        finally:
            self._close(run)
            self._presence(self._on_device, finished=True)

    def _close(self, run: Run) -> None:
        with self._in_flight_lock:
            self._in_flight.discard(run)
        run.ended.set()
        run.clip = None  # the frames' memory, now
        run.beat.__exit__(None, None, None)
        if run.workdir is not None:
            shutil.rmtree(run.workdir, ignore_errors=True)

    def _busy(self) -> list[str]:
        with self._in_flight_lock:
            return [run.job.id for run in self._in_flight]

    def _hand_back_all(self) -> None:
        """Give every job claimed and not ended back to the queue (shutting down)."""
        with self._in_flight_lock:
            runs = list(self._in_flight)
        for run in runs:
            try:
                self.queue.release(run.job)
                log.info("job %s handed back to the queue", run.job.id)
            except Exception as exc:  # its lease will lapse, and it runs again then
                log.warning("could not hand %s back (%s)", run.job.id, faults.one_line(exc))
            self._close(run)

    def _prepare(self, run: Run) -> None:
        """1. Fetch and decode the inputs; 2. resolve the parameters into one engine task."""
        job = run.job
        endpoint = endpoints.get(job.slug)
        if endpoint is None:  # a slug removed after the job was accepted
            raise JobError(f"model {job.slug} is no longer served here")
        run.workdir = Path(tempfile.mkdtemp(prefix=cleanup.workdir_prefix(job.id)))
        if any(job.params.get(field) for field in endpoint.media_fields):
            run.beat.progress(0.01, "fetching inputs")  # (a write: only when there is some)
        sizes = endpoint.size_for(job.params)
        media = self.inputs.ingest_all(endpoint.media_fields, job.params, run.workdir, sizes)
        run.input_bytes = decoded_bytes(media)
        run.endpoint, run.task = endpoint, endpoint.plan(job.params, media)

    def _generate(self, run: Run) -> None:
        """3. Generate (progress 0.05 .. 0.9 of the whole job) and check what came."""
        assert run.task is not None
        beat, task = run.beat, run.task
        started = time.monotonic()
        self.manifests.start()
        # a SIGTERM stops the engine mid-step (its progress writes are shielded from it)
        with INTERRUPTS.interruptible():
            run.clip = self.engine.generate(
                task,
                lambda fraction, stage: beat.progress(PREPARED + 0.85 * fraction, stage),
                beat.cancelled,
            )
        run.seconds["generate"] = time.monotonic() - started
        run.manifest = self.manifests.build(task)  # in this thread: the prompt it recorded
        _check_clip(task, run.clip)  # an engine's mistake fails the job, never ships

    def _finish(self, run: Run) -> None:
        """4. Keep the frames the task asked for (`output_frames`), encode them at the exact
        output size, the first as the thumbnail, and check what we made; 5. store
        (whatever goes wrong there is the store's fault)."""
        job, beat, task, clip = run.job, run.beat, run.task, run.clip
        assert task is not None and clip is not None and run.workdir is not None
        assert run.endpoint is not None
        if beat.claim_lost.is_set():  # taken over meanwhile: nothing of ours to store
            log.warning("job %s lost its claim before it was encoded; result dropped", job.id)
            raise JobError("the claim on this job was lost")  # (the fenced end is a no-op)
        started = time.monotonic()
        if task.output_frames is not None:  # exact seconds out of the engine's 8k+1 frames
            clip = trim(clip, task.output_frames)
        beat.progress(0.9, "encoding mp4")
        out = run.workdir / "output.mp4"
        encode_mp4(clip, task.width, task.height, out, self.codec, self.settings.x264_preset)
        thumbnail = run.workdir / "thumbnail.jpg"
        write_thumbnail(clip, task.width, task.height, thumbnail)
        run.clip = None  # encoded: the frames can go before the upload
        facts = probe(out)
        inference_time = run.seconds.get("generate", 0.0) + time.monotonic() - started
        beat.progress(0.95, "uploading")
        key = f"outputs/{job.id}/{job.attempt}.mp4"
        self._store(key, out, thumbnail)
        run.output = Output(
            key,
            dataclasses.asdict(facts),
            inference_time,
            run.endpoint.price(job.params),
            beat.clock.timings(),
            manifest=run.manifest,
            sha256=file_sha256(out),
        )

    def _finish_and_end(self, run: Run) -> None:
        """Encode, store and record a generated job (the finisher's work, when pipelined)."""
        if self._stage(run, self._finish):
            self._end(run, functools.partial(self._record, run.job, run.output))

    # --- registration, presence and the end of a job -----------------------------------

    def _start(self, ready: Callable[[], None] | None) -> None:
        within = fleet.live_window(self.settings.heartbeat_seconds)
        cleanup.remove_leftovers(self.db, self.hostname, within)
        info = describe(self.id, self.engine, self.slugs)
        fleet.register(self.db, dataclasses.replace(info, runtime=self.manifests.runtime))
        log.info("worker %s ready (%s), serving %s", self.id, self.engine.name, self.slugs)
        if ready is not None:
            ready()

    def _presence(self, current_job: str | None, *, finished: bool = False) -> None:
        """Renew this worker's row; best effort (the job's own writes are what count)."""
        try:
            fleet.beat(self.db, self.id, current_job, finished=finished)
            self._last_beat = time.monotonic()
        except Exception as exc:
            if faults.fault_of(exc) is None:
                raise
            log.warning("could not renew the presence of %s (%s)", self.id, faults.one_line(exc))

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
            manifest=output.manifest,
            output_sha256=output.sha256,
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
