"""Loading the engine at worker start, and saying in one line why it cannot be loaded.

A worker that cannot load its engine must not look like a worker: `reelforge worker`
exits with this line, and `reelforge serve` prints it and never starts the API.

    CannotStart
    ├── the engine's module does not exist       REELFORGE_ENGINE names nothing
    ├── a package the engine needs is missing    installed without the `engine` extra
    ├── the engine's factory does not exist      REELFORGE_ENGINE='module:missing'
    ├── the checkpoint cannot be found or read   REELFORGE_CHECKPOINT names nothing usable
    └── settings the engine cannot run with      e.g. an attention backend without masks
                                                 (engines/ltx2_checks.py)

Anything else raised while loading is a bug and keeps its traceback.
"""

from __future__ import annotations

import types

from reelforge import engines
from reelforge.engines import Engine
from reelforge.settings import Settings
from reelforge.worker.faults import one_line

# top-level modules installed by `pip install 'reelforge[engine]'` (pyproject.toml)
ENGINE_EXTRA_MODULES = frozenset(
    {"torch", "diffusers", "transformers", "accelerate", "safetensors", "sentencepiece", "ftfy"}
)
INSTALL_ENGINE = "pip install 'reelforge[engine]'"


class CannotStart(Exception):
    """The worker cannot serve; the message says what is missing and how to fix it."""


def load_engine(settings: Settings) -> Engine:
    """`engines.load(settings)`, with every misconfiguration a user can fix turned
    into a CannotStart whose message is one line."""
    try:
        problems = engines.check(settings)  # before minutes of loading weights
        if problems:
            raise CannotStart("; ".join(problems))
        return engines.load(settings)
    except ModuleNotFoundError as exc:
        raise CannotStart(_missing_module(settings, exc.name or "?")) from exc
    except ImportError as exc:  # installed, but not the version the engine was written for
        raise CannotStart(
            f"{_which(settings)} could not import what it needs ({one_line(exc)}); "
            f"reinstall its dependencies: pip install --upgrade 'reelforge[engine]'"
        ) from exc
    except AttributeError as exc:
        module, _, factory = settings.engine.partition(":")
        holder = getattr(exc, "obj", None)
        if not (isinstance(holder, types.ModuleType) and holder.__name__ == module):
            raise
        raise CannotStart(
            f"REELFORGE_ENGINE={settings.engine!r}: module {module!r} has no {factory!r}; "
            f"name the engine's factory after the colon"
        ) from exc
    except ValueError as exc:
        message = str(exc)
        if message.startswith("REELFORGE_CHECKPOINT"):
            raise CannotStart(f"{message}; {_checkpoint_fix()}") from exc
        if message.startswith("REELFORGE_"):  # a setting the engine refused, named already
            raise CannotStart(message) from exc
        raise
    except OSError as exc:  # from_pretrained: not a checkpoint, or a hub id not reachable
        if settings.engine != "ltx2" or not settings.checkpoint:
            raise
        raise CannotStart(
            f"REELFORGE_CHECKPOINT={settings.checkpoint!r}: could not load it "
            f"({one_line(exc)}); {_checkpoint_fix()}"
        ) from exc


def _missing_module(settings: Settings, missing: str) -> str:
    module = settings.engine.partition(":")[0]
    if settings.engine != "ltx2" and (module == missing or module.startswith(missing + ".")):
        return (
            f"REELFORGE_ENGINE={settings.engine!r}: there is no module {missing!r} to import; "
            f"set REELFORGE_ENGINE to 'ltx2' (the default) or to 'package.module:factory' "
            f"of an engine installed here"
        )
    top = missing.split(".")[0]
    if settings.engine == "ltx2" or top in ENGINE_EXTRA_MODULES:
        return (
            f"{_which(settings)} needs the Python package {top!r}, which is not installed "
            f"(Reelforge was installed without its engine); install it: {INSTALL_ENGINE}"
        )
    return (
        f"{_which(settings)} needs the Python module {missing!r}, which is not installed; "
        f"install it in this environment ({_python()})"
    )


def _which(settings: Settings) -> str:
    return (
        "the ltx2 engine" if settings.engine == "ltx2" else f"REELFORGE_ENGINE={settings.engine!r}"
    )


def _checkpoint_fix() -> str:
    return (
        "point it at an LTX-2 checkpoint in diffusers format (a directory, or a hub id "
        "this machine can download), or unset it to use the tiny random checkpoint"
    )


def _python() -> str:
    import sys

    return sys.executable
