"""An account's webhook secret: `whsec_` + base64 of 32 random bytes, the form the
Standard Webhooks libraries take as is. Made on first read, replaced by `rotate`; the
sender signs each attempt with the secret current at that moment."""

from __future__ import annotations

import base64
import os

from sqlalchemy import Engine, select, update

from reelforge.errors import NotFound
from reelforge.jobs.schema import accounts

PREFIX = "whsec_"
SECRET_BYTES = 32


def generate() -> str:
    """A new secret."""
    return PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def read(db: Engine, account: str) -> str:
    """`account`'s secret, created now if it has none (NotFound: no such account).
    Two first reads at once agree: only one UPDATE finds the column still empty."""
    with db.begin() as conn:
        conn.execute(
            update(accounts)
            .where(accounts.c.id == account, accounts.c.webhook_secret.is_(None))
            .values(webhook_secret=generate())
        )
        secret = conn.execute(
            select(accounts.c.webhook_secret).where(accounts.c.id == account)
        ).scalar_one_or_none()
    if secret is None:
        raise NotFound(f"Account {account} not found")
    return str(secret)


def rotate(db: Engine, account: str) -> str:
    """Replace `account`'s secret with a new one and return it; webhooks sent from now on
    are signed with it, retries of older events included (NotFound: no such account)."""
    secret = generate()
    with db.begin() as conn:
        changed = conn.execute(
            update(accounts).where(accounts.c.id == account).values(webhook_secret=secret)
        ).rowcount
    if changed != 1:
        raise NotFound(f"Account {account} not found")
    return secret
