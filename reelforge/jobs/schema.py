"""Every table Reelforge keeps, in one place: the migrations' metadata and the queries'.

    jobs              the whole state of every request (migration 0001)
    workers           the fleet's presence (0002)
    accounts, api_keys, credit_ledger, idempotency_keys   who may call, what they spend (0003)
    uploads           input files clients stored with POST /v1/files (0004)
    jobs.not_before, jobs.fault_retries, ix_workers_heartbeat   fault retries (0005)
    jobs.version/step/steps/step_seconds/timings/base_url/webhook*, accounts.webhook_secret,
    webhook_deliveries, webhook_attempts, timing_stats   watching a job (0006)
    ix_jobs_owner_created (instead of ix_jobs_owner)   an account's history (0007)
    jobs.manifest/checkpoint/output_sha256, workers.runtime   what made a result (0008)
    jobs.replay   a replay's original: its id, mp4 hash, checkpoint and versions (0009)
    jobs.fingerprint/cached_from, ix_jobs_fingerprint, ix_jobs_output_key   result cache (0010)

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
    # --- watching a job (0006) ---
    # bumped by every write that changes what /status shows: the stream's event ids
    Column("version", Integer, nullable=False, default=0),
    Column("step", Integer),  # denoising step done, while denoising
    Column("steps", Integer),  # denoising steps of this attempt
    Column("step_seconds", Float),  # this attempt's measured seconds per denoising step
    Column("timings", JSON),  # COMPLETED: seconds per stage (fetch, denoise, ...), see timings.py
    Column("base_url", String(512)),  # where the submitter reached us: links in webhooks
    Column("webhook", Text),  # URL to notify, or None
    Column("webhook_events", JSON),  # which of start / progress / completed it gets
    # --- what made a result (0008, docs/reproducibility.md) ---
    Column("manifest", JSON),  # COMPLETED: checkpoint, versions, device, plan, seed, prompt
    Column("checkpoint", String(80)),  # COMPLETED: the checkpoint's content hash (manifest's)
    Column("output_sha256", String(64)),  # COMPLETED: sha256 of the mp4's bytes
    # a replay (POST /v2/requests/{id}/replay): what it is checked against, kept in case the
    # original expires first: {"of", "output_sha256", "checkpoint", "versions"}
    Column("replay", JSON),
    # --- the result cache (0010, jobs/cache.py) ---
    Column("fingerprint", String(64)),  # sha256 of slug + params; None: never cached
    # served from the cache: the account's request it came from ("": another account's)
    Column("cached_from", String(36)),
    Index("ix_jobs_status_created", "status", "created_at"),  # claims, queue positions
    Index("ix_jobs_expires_at", "expires_at"),  # the expiry sweep
    # an account's requests, newest first (GET /v1/requests); replaced ix_jobs_owner (0007)
    Index("ix_jobs_owner_created", "owner", "created_at"),
    Index("ix_jobs_fingerprint", "fingerprint"),  # a cacheable submit's look-up
    Index("ix_jobs_output_key", "output_key"),  # an expiry: who else shares this file
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
    # what its results' manifests will say: checkpoint identity and versions (0008)
    Column("runtime", JSON),
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
    Column("webhook_secret", String(128)),  # whsec_...: signs its webhooks (0006); None = none yet
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

# --- watching a job (migration 0006) -------------------------------------------------------

# The webhook outbox: one row per event to deliver, written in the transaction that made
# the change it reports, delivered (and retried) by the worker side (webhooks/delivery.py).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(64), primary_key=True),  # msg_<uuid>: the webhook-id header
    Column("job_id", String(36), nullable=False),
    Column("owner", String(64), nullable=False),  # whose secret signs it
    Column("url", Text, nullable=False),
    Column("event", String(16), nullable=False),  # start / progress / completed
    Column("snapshot", JSON, nullable=False),  # the job's state when the event happened
    Column("body", Text),  # the exact bytes sent, fixed at the first attempt
    Column("status", String(16), nullable=False),  # pending / delivered / failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),  # not tried before this
    Column("lease_until", Float),  # a sender holds it until then
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float),  # delivered, or given up
    Column("expires_at", Float, nullable=False),  # deleted then, delivered or not
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_job", "job_id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),  # 1, 2, ...
    Column("at", Float, nullable=False),
    Column("status_code", Integer),  # the receiver's answer; None = no answer
    Column("error", Text),  # why it did not count as delivered
    Column("seconds", Float, nullable=False),  # how long the attempt took
    Index("ix_webhook_attempts_delivery", "delivery_id"),
)

# What the fleet measured per model and size, for ETAs (jobs/timings.py): running means.
timing_stats = Table(
    "timing_stats",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("size", String(64), primary_key=True),  # e.g. "540p 5s normal" (timings.size_of)
    Column("samples", Integer, nullable=False),  # jobs measured
    Column("job_seconds", Float, nullable=False),  # claim to COMPLETED
    Column("step_seconds", Float),  # per denoising step
    Column("steps", Integer),  # denoising steps per job
    Column("after_seconds", Float),  # decode, encode and upload, after the last step
    Column("updated_at", Float, nullable=False),
)
