"""The admin key of an install: the operator's key, owner of the `admin` account."""

from __future__ import annotations

import secrets
from pathlib import Path

from reelforge.settings import Settings

ADMIN = "admin"  # account of the admin key (and of any key issued on that account)


def admin_key_path(settings: Settings) -> Path:
    return settings.data_dir / "admin.key"


def admin_key(settings: Settings) -> str:
    """The admin API key: REELFORGE_ADMIN_KEY, else `<data-dir>/admin.key`, created (and
    kept private to this user) on first use. It never enters the database."""
    if settings.admin_key:
        return settings.admin_key
    path = admin_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("rf_" + secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()
