"""Model engines. Only this package imports torch and diffusers, and only when a worker
loads an engine: the API process never does."""

from __future__ import annotations

import importlib

from reelforge.engines.base import CancelledFn, Engine, ProgressFn
from reelforge.settings import Settings

__all__ = ["CancelledFn", "Engine", "ProgressFn", "check", "load"]


def load(settings: Settings) -> Engine:
    """Build the engine named by `settings.engine` and load its weights once."""
    if settings.engine == "ltx2":
        from reelforge.engines.ltx2 import LTX2Engine

        return LTX2Engine(settings)
    # 'package.module:factory' lets a deployment plug in its own engine (tests use this
    # to run the wire protocol against a fast stand-in that lives under tests/)
    module_name, sep, attr = settings.engine.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"REELFORGE_ENGINE={settings.engine!r}: expected 'ltx2' or 'package.module:factory'"
        )
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(settings)


def check(settings: Settings) -> list[str]:
    """What in `settings` the engine cannot run with, before loading any weights: one
    sentence per problem (`ltx2_checks.py`); a custom engine checks itself."""
    if settings.engine != "ltx2":
        return []
    from reelforge.engines.ltx2_checks import check as check_ltx2
    from reelforge.engines.ltx2_load import pick_device

    return check_ltx2(settings, pick_device(settings.device))
