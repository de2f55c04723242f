"""Credits moving with a job's state, always inside the transaction that moves the job.

A priced job holds its price on its account from submit (`accounts.held`); the hold
becomes a charge when the job COMPLETES (balance and held both drop, one ledger row)
and is released when it FAILS or expires unfinished (held drops; nothing was spent).
Because each of these runs in the same transaction as the job's own state change, the
books can never disagree with the jobs: at any moment

    accounts.balance == sum(credit_ledger.units)            (for limited accounts)
    accounts.held    == sum(jobs.price_units) over its QUEUED and PROCESSING jobs

Amounts are integer units of 1/10000 credit, so these sums are exact.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from reelforge.errors import InsufficientCredits
from reelforge.jobs.schema import accounts, credit_ledger

UNITS_PER_CREDIT = 10_000
# the most units a balance, a grant or a price may be: 1e11 credits. Far inside BIGINT, and
# below 2**53, so the float a JSON answer carries is still exact to the 1/10000 credit
MAX_UNITS = 10**15


def to_units(credits: float) -> int:
    return round(credits * UNITS_PER_CREDIT)


def to_credits(units: int) -> float:
    return units / UNITS_PER_CREDIT


def hold(conn: Connection, account: str, units: int) -> None:
    """Reserve `units` on `account`, or raise InsufficientCredits (and change nothing).

    One conditional UPDATE: PostgreSQL re-checks the WHERE after waiting for the row
    lock and SQLite serialises writers, so parallel submits can never overdraw."""
    if units > MAX_UNITS:  # a price no account can pay (and the database cannot add up)
        raise InsufficientCredits(
            f"Insufficient credits: this request costs {to_credits(units):g} credits; an "
            f"account holds at most {MAX_UNITS // UNITS_PER_CREDIT}"
        )
    enough = accounts.c.balance.is_(None) | (accounts.c.balance - accounts.c.held >= units)
    result = conn.execute(
        update(accounts)
        .where(accounts.c.id == account, enough)
        .values(held=accounts.c.held + units)
    )
    if result.rowcount == 1:
        return
    row = conn.execute(
        select(accounts.c.balance, accounts.c.held).where(accounts.c.id == account)
    ).one_or_none()
    available = 0 if row is None else row.balance - row.held
    raise InsufficientCredits(
        f"Insufficient credits: this request costs {to_credits(units):g} credits and the "
        f"account has {to_credits(available):g} available"
    )


def charge(conn: Connection, account: str, units: int, job_id: str) -> None:
    """The held price of a COMPLETED job becomes spent."""
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account)
        .values(balance=accounts.c.balance - units, held=accounts.c.held - units)
    )
    record(conn, account, "charge", -units, job_id=job_id)


def release(conn: Connection, rows: Iterable[Any]) -> None:
    """Give back the holds of jobs that ended without output (rows with owner, price_units).
    Accounts are updated in a fixed order so two sweeps cannot deadlock each other."""
    totals: dict[str, int] = {}
    for row in rows:
        if row.price_units:
            totals[row.owner] = totals.get(row.owner, 0) + row.price_units
    for account in sorted(totals):
        conn.execute(
            update(accounts)
            .where(accounts.c.id == account)
            .values(held=accounts.c.held - totals[account])
        )


def record(
    conn: Connection, account: str, kind: str, units: int, *, job_id: str | None = None,
    note: str | None = None,
) -> None:  # fmt: skip
    conn.execute(
        insert(credit_ledger).values(
            account_id=account,
            kind=kind,
            units=units,
            job_id=job_id,
            note=note,
            created_at=time.time(),
        )  # fmt: skip
    )
