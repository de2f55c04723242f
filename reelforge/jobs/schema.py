"""Every table Reelforge keeps, in one place: the migrations' metadata and the queries'.

    jobs              the whole state of every request (migration 0001)
    workers           the fleet's presence (0002)
    accounts, api_keys, credit_ledger, idempotency_keys   who may call, what they spend (0003)
    uploads           input files clients stored with POST /v1/files (0004)
    jobs.not_before, jobs.fault_retries, ix_workers_heartbeat   fault retries (0005)

Times are float seconds since the epoch (UTC): the same in SQLite and PostgreSQL,
and compared only with each other. The schema itself is created by the Alembic
migrations in `migrations/versions/`; this module is what the queries use, and what
`alembic check` compares the migrations against.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),  # request_id (uuid4)
    Column("slug", String(64), nullable=False),  # endpoint, e.g. pixverse-v6
    Column("owner", String(64), nullable=False),  # account that submitted it
    Column("params", JSON, nullable=False),  # validated parameters, defaults filled
    Column("status", String(16), nullable=False),  # QUEUED / PROCESSING / COMPLETED / FAILED
    Column("created_at", Float, nullable=False),  # submit time
    Column("expires_at", Float, nullable=False),  # created_at + retention; then it is gone
    Column("started_at", Float),  # first claim
    Column("finished_at", Float),  # reached COMPLETED or FAILED
    Column("attempt", Integer, nullable=False, default=0),  # claims so far (fencing token)
    Column("worker_id", String(128)),  # holder of the current claim
    Column("lease_until", Float),  # the claim is lost when not renewed by then
    Column("progress", Float, nullable=False, default=0.0),  # 0..1 while PROCESSING
    Column("stage", String(64)),  # what the worker is doing, for /status
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("error", Text),  # FAILED: what went wrong, for the user
    Column("output_key", String(256)),  # COMPLETED: storage key of the mp4
    Column("video", JSON),  # COMPLETED: width, height, fps, frame_count, duration, ...
    Column("inference_time", Float),  # seconds the successful attempt took
    Column("cost", Float),  # credits charged (only on COMPLETED)
    # credits held at submit, in billing units (see billing.py); None = not billed.
    # Held while QUEUED/PROCESSING, charged on COMPLETED, released on FAILED or expiry.
    Column("price_units", BigInteger),
    # a job put back after a disk or database fault (not the request's) is not claimed
    # before `not_before`; `fault_retries` counts those put-backs, apart from `attempt`
    Column("not_before", Float),
    Column("fault_retries", Integer, nullable=False, default=0),
    Index("ix_jobs_status_created", "status", "created_at"),  # claims, queue positions
    Index("ix_jobs_expires_at", "expires_at"),  # the expiry sweep
    Index("ix_jobs_owner", "owner"),  # an account's requests
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(128), primary_key=True),  # host:pid:random, as in jobs.worker_id
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("slugs", JSON, nullable=False),  # the endpoints it claims jobs for
    Column("engine", String(255), nullable=False),  # e.g. "ltx2 tiny-random (noise) on cpu"
    Column("device", String(64), nullable=False),  # cpu, cuda:0, ...
    Column("memory_bytes", BigInteger),  # the device's memory (GPU memory, or RAM for cpu)
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),  # live while recent
    Column("current_job", String(36)),  # the job it is running, if any
    Column("jobs_done", Integer, nullable=False, default=0),
    Index("ix_workers_heartbeat", "heartbeat_at"),  # live workers, on every QUEUED status
)

# --- accounts (migration 0003) -------------------------------------------------------------
# Credits are integers of 1/10000 credit ("units"): sums stay exact in both databases.

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),  # the owner name on jobs ("admin", "team-a")
    Column("balance", BigInteger),  # units owned; None = unlimited; only grants/charges move it
    Column("held", BigInteger, nullable=False, default=0),  # units reserved by unfinished jobs
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),  # public id, part of the visible prefix
    Column("account_id", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("secret_hash", String(64), nullable=False),  # sha256 hex of the whole key
    Column("slugs", JSON),  # endpoints it may use; None = all
    Column("rate_limit", Integer),  # requests per minute; None = the server default
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # grant / charge
    Column("units", BigInteger, nullable=False),  # signed change of accounts.balance
    Column("job_id", String(36)),  # charge: the COMPLETED job
    Column("note", String(255)),
    Column("created_at", Float, nullable=False),
    Index("ix_credit_ledger_account", "account_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), primary_key=True),  # the API key's id: keys never collide
    Column("key", String(255), primary_key=True),  # the client's Idempotency-Key
    Column("fingerprint", String(64), nullable=False),  # sha256 of slug + canonical body
    Column("job_id", String(36), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_idempotency_expires", "expires_at"),
)

# --- uploads (migration 0004) --------------------------------------------------------------

uploads = Table(
    "uploads",
    metadata,
    Column("key", String(256), primary_key=True),  # storage key, uploads/<account>/<uuid>.<ext>
    Column("owner", String(64), nullable=False),  # the account that uploaded it
    Column("media_type", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),  # created_at + retention; then it is gone
    Index("ix_uploads_expires", "expires_at"),
)
