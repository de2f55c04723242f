"""The worker: claim -> ingest inputs -> engine -> encode mp4 -> storage -> finish.

One worker process serves one device; the engine is loaded once and stays resident.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

from reelforge import endpoints, jobs
from reelforge.engines import Engine
from reelforge.errors import JobError
from reelforge.jobs import Job, JobQueue, fleet
from reelforge.jobs.wakeup import Wakeup
from reelforge.media.encode import encode_mp4
from reelforge.media.probe import probe
from reelforge.settings import Settings
from reelforge.storage import open_storage
from reelforge.worker.heartbeat import Heartbeat
from reelforge.worker.inputs import ingest_all

log = logging.getLogger("reelforge.worker")


class Shutdown(BaseException):
    """Raised in the worker's main thread by SIGTERM/SIGINT: hand the job back, exit."""


class Worker:
    def __init__(self, settings: Settings, engine: Engine, queue: JobQueue | None = None):
        self.settings = settings
        self.engine = engine
        self.queue = queue or jobs.open_queue(settings)
        self.storage = open_storage(settings)
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.slugs = served_slugs(settings)

    def run(self, stop: threading.Event) -> None:
        """Serve jobs until `stop` is set (checked between jobs)."""
        db = self.queue.engine
        fleet.register(db, describe(self.id, self.engine, self.slugs))
        wakeup = Wakeup(db)
        log.info("worker %s ready (%s), serving %s", self.id, self.engine.name, self.slugs)
        last_beat = 0.0
        try:
            while not stop.is_set():
                # idle presence at the heartbeat rate, not at every poll (a write each time);
                # while a job runs, its Heartbeat thread keeps the presence fresh
                if time.monotonic() - last_beat >= self.settings.heartbeat_seconds:
                    fleet.beat(db, self.id, None)
                    last_beat = time.monotonic()
                job = self.queue.claim(self.id, self.slugs)
                if job is None:
                    wakeup.wait(self.settings.poll_seconds)
                    continue
                fleet.beat(db, self.id, job.id)
                self.process(job)
                fleet.beat(db, self.id, None, finished=True)
                last_beat = time.monotonic()
        finally:
            wakeup.close()
            fleet.unregister(db, self.id)

    def process(self, job: Job) -> None:
        """Run one claimed job to COMPLETED or FAILED; never raises for the job's sake."""
        log.info("job %s (%s) attempt %d started", job.id, job.slug, job.attempt)
        with Heartbeat(self.queue, job, self.settings.heartbeat_seconds) as beat:
            try:
                self._produce(job, beat)
            except Shutdown:
                self.queue.release(job)
                log.info("job %s handed back to the queue", job.id)
                raise
            except JobError as exc:
                self.queue.fail(job, str(exc))
                log.info("job %s failed: %s", job.id, exc)
            except Exception as exc:  # a bug or a crashed library: the job fails, we go on
                log.exception("job %s crashed", job.id)
                self.queue.fail(job, f"internal error while generating: {type(exc).__name__}")

    def _produce(self, job: Job, beat: Heartbeat) -> None:
        endpoint = endpoints.get(job.slug)
        if endpoint is None:  # a slug removed after the job was accepted
            raise JobError(f"model {job.slug} is no longer served here")
        with tempfile.TemporaryDirectory(prefix=f"reelforge-{job.id}-") as tmp:
            workdir = Path(tmp)
            # 1. Fetch and decode the inputs
            beat.progress(0.01, "fetching inputs")
            media = ingest_all(endpoint.media_fields, job.params, workdir, self.settings)
            # 2. Resolve the parameters into one engine task
            task = endpoint.plan(job.params, media)
            # 3. Generate (progress 0.05 .. 0.9 of the whole job)
            started = time.monotonic()
            clip = self.engine.generate(
                task,
                lambda fraction, stage: beat.progress(0.05 + 0.85 * fraction, stage),
                beat.cancelled,
            )
            # 4. Encode the exact output size and check what we made
            beat.progress(0.9, "encoding mp4")
            out = workdir / "output.mp4"
            encode_mp4(clip, task.width, task.height, out)
            facts = probe(out)
            inference_time = time.monotonic() - started
            # 5. Store, then record: a job is never COMPLETED without its file
            key = f"outputs/{job.id}/{job.attempt}.mp4"
            self.storage.put(key, out)
        finished = self.queue.complete(
            job,
            output_key=key,
            video=dataclasses.asdict(facts),
            inference_time=inference_time,
            cost=endpoint.price(job.params),
        )
        if not finished:  # our claim was taken over or the job expired meanwhile
            self.storage.delete(key)
            log.warning("job %s finished after losing its claim; result dropped", job.id)
        else:
            log.info("job %s completed in %.1f s", job.id, inference_time)


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
    """What a worker tells the fleet about itself: device and its memory."""
    device = str(getattr(engine, "device", "cpu"))
    memory = None
    if device.startswith("cuda"):
        import torch  # only a worker with a CUDA engine gets here; torch is loaded already

        memory = int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    else:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
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
