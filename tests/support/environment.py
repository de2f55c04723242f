"""What a test needs from the machine (a PostgreSQL, Chromium, tmpfs mounts, the server
binaries of PostgreSQL) and what happens when it is missing: on a developer's machine the
test is skipped, saying what is missing; on CI (CI or REELFORGE_TEST_REQUIRE_POSTGRES set),
where scripts/test installs all of it, the test fails instead, so that a broken set-up
never passes as a green run."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def on_ci() -> bool:
    """True where everything the tests need must be there."""
    return any(
        os.environ.get(name, "").lower() not in ("", "0", "false", "no")
        for name in ("CI", "REELFORGE_TEST_REQUIRE_POSTGRES")
    )


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test saying `reason`; on CI, fail it."""
    if on_ci():
        pytest.fail(f"required here (CI): {reason}", pytrace=False)
    pytest.skip(reason)
