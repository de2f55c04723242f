"""An engine that loads fine, then kills its worker process a moment later (exit code 3):
a worker that crashes after it was ready. REELFORGE_TEST_DIE_AFTER sets the moment."""

from __future__ import annotations

import os
import threading

from reelforge.settings import Settings
from tests.support.fake_engine import FakeEngine


def dies_soon(settings: Settings) -> FakeEngine:
    delay = float(os.environ.get("REELFORGE_TEST_DIE_AFTER", "4"))
    threading.Timer(delay, os._exit, args=(3,)).start()
    return FakeEngine(settings)
