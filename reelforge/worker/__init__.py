"""The worker process: claims jobs and runs them through an engine."""

from reelforge.worker.interrupts import Shutdown
from reelforge.worker.loop import Worker

__all__ = ["Shutdown", "Worker"]
