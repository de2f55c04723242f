"""The worker process: claims jobs and runs them through an engine."""

from reelforge.worker.loop import Shutdown, Worker

__all__ = ["Shutdown", "Worker"]
