"""Who may call the API. For now one admin key per install; per-team keys, credits and
limits build on this module."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from reelforge.settings import Settings

ADMIN = "admin"  # owner name of everything submitted with the admin key


def admin_key_path(settings: Settings) -> Path:
    return settings.data_dir / "admin.key"


def admin_key(settings: Settings) -> str:
    """The admin API key: REELFORGE_ADMIN_KEY, else `<data-dir>/admin.key`, created (and
    kept private to this user) on first use."""
    if settings.admin_key:
        return settings.admin_key
    path = admin_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("rf_" + secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def owner_of(presented: str | None, admin: str) -> str | None:
    """The account a presented key belongs to, or None. Constant-time comparison."""
    if presented and hmac.compare_digest(presented.encode(), admin.encode()):
        return ADMIN
    return None
