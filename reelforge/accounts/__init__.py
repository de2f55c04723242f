"""Who may call the API, and what they may spend.

    admin.py        the admin key of an install (REELFORGE_ADMIN_KEY or <data-dir>/admin.key)
    keys.py         API keys: issued, listed, revoked; stored only as a hash
    credits.py      accounts and their balances; grants
    prices.py       the price of a job, in billing units (configurable table)
    ratelimit.py    requests per minute per key (the `limits` library)
    idempotency.py  Idempotency-Key: one job per key and body

Holding, charging and releasing credits happens in `reelforge.jobs.billing`, inside the
transactions that move jobs.
"""

from reelforge.accounts.admin import ADMIN, admin_key, admin_key_path

__all__ = ["ADMIN", "admin_key", "admin_key_path"]
