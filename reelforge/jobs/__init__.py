"""Durable jobs: the SQL record and the queue operations on it."""

from reelforge.jobs.db import connect, migrate
from reelforge.jobs.queue import JobQueue, open_queue
from reelforge.jobs.record import TERMINAL, Job, NewJob, Status

__all__ = ["TERMINAL", "Job", "JobQueue", "NewJob", "Status", "connect", "migrate", "open_queue"]
