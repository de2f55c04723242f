"""Builders for the sender's tests, on SQLite and on PostgreSQL: a migrated database with
one account, jobs that ask for webhooks, a sender on a clock the test moves, a receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from reelforge.accounts import credits
from reelforge.jobs import Job, JobQueue, NewJob, connect, migrate
from reelforge.jobs.schema import webhook_attempts, webhook_deliveries
from reelforge.settings import Settings
from reelforge.storage import UrlSigner, open_storage
from reelforge.webhooks import secrets
from reelforge.webhooks.delivery import WebhookSender
from tests.webhooks.receiver import Receiver

ACCOUNT = "team-hooks"
BASE_URL = "http://api.test:8000"  # the base URL the submitter "used": links in bodies


class Clock:
    """Epoch seconds that move only when the test says. The outbox stamps its rows with
    the real time, so this starts a little ahead of it: rows written next are due."""

    def __init__(self) -> None:
        self.now = time.time() + 10.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = str(request.getfixturevalue("pg_schema_url"))
    engine = connect(url)
    migrate(engine)
    with engine.begin() as conn:
        credits.open_account(conn, ACCOUNT, None)
    yield engine
    engine.dispose()


@pytest.fixture
def receiver(db: Engine) -> Iterator[Receiver]:
    with Receiver(secrets.read(db, ACCOUNT)) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass
class Outbox:
    """The queue side (jobs that emit events) and the sender side, on one database."""

    db: Engine
    queue: JobQueue
    settings: Settings
    clock: Clock
    senders: list[WebhookSender]

    def sender(self, **settings: Any) -> WebhookSender:
        chosen = self.settings.model_copy(update=settings) if settings else self.settings
        storage = open_storage(chosen)
        made = WebhookSender(chosen, self.db, storage, UrlSigner(b"s" * 32), clock=self.clock)
        self.senders.append(made)
        return made

    def job(self, url: str, events: tuple[str, ...] = ("completed",)) -> Job:
        """A submitted job of ACCOUNT whose webhook is `url`, claimed (`start` is out)."""
        self.queue.submit(
            NewJob(
                slug="pixverse-text2video",
                owner=ACCOUNT,
                params={"prompt": "a fox", "seed": 7, "duration": 5, "quality": "540p"},
                base_url=BASE_URL,
                webhook=url,
                webhook_events=events,
            )
        )
        claimed = self.queue.claim("worker-1")
        assert claimed is not None
        return claimed

    def complete(self, job: Job) -> None:
        video = {"width": 960, "height": 540, "fps": 24, "frame_count": 121}
        done = self.queue.complete(
            job, output_key=f"outputs/{job.id}/1.mp4", video=video, inference_time=1.5, cost=1.0
        )
        assert done

    def deliveries(self, job_id: str) -> list[Any]:
        d = webhook_deliveries
        with self.db.begin() as conn:
            return list(
                conn.execute(
                    select(d).where(d.c.job_id == job_id).order_by(d.c.created_at, d.c.id)
                ).all()
            )

    def attempts(self, delivery_id: str) -> list[Any]:
        a = webhook_attempts
        with self.db.begin() as conn:
            return list(
                conn.execute(
                    select(a).where(a.c.delivery_id == delivery_id).order_by(a.c.attempt)
                ).all()
            )


@pytest.fixture
def outbox(db: Engine, clock: Clock, tmp_path: Path) -> Iterator[Outbox]:
    settings = Settings(
        data_dir=tmp_path, admin_key="test-admin-key", allow_private_urls=True,
        poll_seconds=0.05, webhook_retry_seconds=5, webhook_timeout_seconds=5,
    )  # fmt: skip
    made = Outbox(db, JobQueue(db, retention=3600, lease=30, max_attempts=3), settings, clock, [])
    yield made
    for sender in made.senders:
        sender.stop()


def drain(sender: WebhookSender) -> int:
    """Make every attempt due now; how many were made."""
    made = 0
    while sender.send_one():
        made += 1
    return made
