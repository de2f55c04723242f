"""The one settings object. Every value comes from a `REELFORGE_*` environment variable
(or the CLI flags that set them) and is validated at start, failing loudly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# REELFORGE_MEMORY_MODE: what stays on the GPU (reelforge/engines/memory_modes.py)
MemoryMode = Literal["auto", "resident", "offload_text_encoder", "fp8", "int8", "sequential"]
# REELFORGE_X264_PRESET: libx264's speed against size (reelforge/media/encode.py)
X264Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELFORGE_", extra="ignore")

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(Path("reelforge-data"), description="embedded database, files, keys")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in data_dir")
    storage_dir: Path | None = Field(None, description="output/input files; default data_dir/files")
    public_url: str | None = Field(
        None, description="base URL clients use to reach this server; default: the request's own"
    )

    # --- object storage ----------------------------------------------------------------
    storage_url: str | None = Field(
        None,
        description="s3://bucket/prefix, gs://bucket/prefix or az://container/prefix; "
        "default: local files in storage_dir (credentials: the cloud's own env variables)",
    )
    s3_endpoint: str | None = Field(
        None, description="S3-compatible server URL (MinIO...); http:// is allowed if given"
    )
    s3_region: str | None = Field(None, description="S3 region; default AWS_REGION or us-east-1")

    # --- HTTP ---------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    admin_key: str | None = Field(None, description="preset admin API key (else generated)")
    signing_secret: str | None = Field(None, description="HMAC secret for output URLs")
    sync_timeout: float = Field(600.0, gt=0, description="seconds POST /v1/{slug} waits")
    max_body_bytes: int = Field(
        16_000_000, gt=0, description="largest submit body (parameters and a data: URL "
        "image); larger media go through POST /v1/files, which streams; past it: 413",
    )  # fmt: skip
    http_header_timeout_seconds: float = Field(
        10.0, gt=0, description="a request line and headers must arrive within this long "
        "of the connection opening or of the previous answer, else the connection is closed",
    )  # fmt: skip
    http_body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="a request body must arrive within this long of its headers, plus one "
        "second for every 64 KiB it brings (a slow upload goes on, a trickle is cut off)",
    )
    http_keepalive_seconds: int = Field(
        5, ge=1, description="an idle kept-alive connection is closed after this long"
    )
    min_free_bytes: int = Field(
        500_000_000, ge=0, description="submits and uploads are refused (507) while the "
        "data or storage directory has less free space than this; 0: never",
    )  # fmt: skip

    # --- accounts -----------------------------------------------------------------------
    admin_credits: float | None = Field(
        None, ge=0, description="credits of the admin account; default unlimited"
    )
    rate_limit_per_minute: int = Field(
        600, ge=0, description="requests per minute per API key (unless the key sets its "
        "own); 0 = no limit; the admin key is never limited",
    )  # fmt: skip
    rate_limit_storage_url: str = Field(
        "memory://", description="memory:// (one API process) or redis://host:6379 (shared "
        "by several API processes)",
    )  # fmt: skip
    prices: str | None = Field(
        None, description="price table overrides: JSON, or the path of a JSON file"
    )
    idempotency_hours: float = Field(
        24.0, ge=24, description="how long an Idempotency-Key is remembered"
    )
    # the key cache (accounts/keys.py KeyCache): the bound on a revoke made elsewhere
    key_cache_seconds: float = Field(
        5.0, ge=0, le=300, description="an API process remembers a key it authenticated "
        "this long: a key revoked by another process (the CLI, another API replica) still "
        "works there until then; a revoke through this process's API is at once; 0: off",
    )  # fmt: skip

    # --- the result cache (jobs/cache.py, docs/reproducibility.md) -----------------------
    result_cache: bool = Field(
        True, description="a submit with an explicit seed completes at once from the file of "
        "an identical COMPLETED request on the same checkpoint; false: every submit runs",
    )  # fmt: skip
    cache_hit_price: float = Field(
        0.0, ge=0, le=100_000_000_000, description="credits a request served from the cache "
        "costs",
    )  # fmt: skip
    cache_across_accounts: bool = Field(
        False, description="another account's result may serve a request (it tells one "
        "account what another generated)",
    )  # fmt: skip

    # --- jobs ---------------------------------------------------------------------------
    retention_seconds: float = Field(
        3600.0, gt=0, description="results expire this long after submit"
    )
    lease_seconds: float = Field(
        30.0, gt=0, description="a claim is lost when not renewed this long"
    )
    heartbeat_seconds: float = Field(5.0, gt=0)
    poll_seconds: float = Field(0.5, gt=0, description="how often an idle worker looks for jobs")
    max_attempts: int = Field(3, ge=1, description="claims per job before it ends FAILED")
    pipeline_depth: int = Field(
        2, ge=0, le=8, description="generated jobs a worker may have encoding or waiting to "
        "be encoded while its device runs the next (each holds its decoded frames in memory); "
        "0: one job at a time, nothing prepared ahead",
    )  # fmt: skip
    reap_seconds: float = Field(30.0, gt=0, description="how often expired jobs are deleted")
    worker_slugs: str | None = Field(
        None, description="comma-separated endpoints this worker serves; default: all"
    )
    worker_start_seconds: float = Field(
        900.0, gt=0, description="how long `serve` waits for its worker to load the engine "
        "before giving up (loading a real checkpoint can take minutes)",
    )  # fmt: skip
    fault_retry_seconds: float = Field(
        2.0, gt=0, description="back-off before a job hit by a fault that is not the "
        "request's (full disk, database error) runs again; doubles per retry, up to 5 min",
    )  # fmt: skip
    max_fault_retries: int = Field(
        20, ge=0, description="such put-backs of one job before it ends FAILED (they do not "
        "use up max_attempts)",
    )  # fmt: skip

    # --- watching jobs: stream, webhooks, metrics, readiness ----------------------------
    stream_keepalive_seconds: float = Field(
        15.0, gt=0, description="a comment line this often on an idle stream (proxies)"
    )
    stream_poll_seconds: float = Field(
        0.1, gt=0, le=0.25, description="how often an API process re-reads the jobs its "
        "stream clients watch (SQLite; on PostgreSQL NOTIFY wakes it, this is the fallback)",
    )  # fmt: skip
    webhook_retry_seconds: float = Field(
        5.0, gt=0, description="first wait before a failed webhook is sent again; doubles"
    )
    webhook_retry_max_seconds: float = Field(
        600.0, gt=0, description="longest wait between two tries of one webhook"
    )
    webhook_retry_hours: float = Field(
        2.0, ge=1, description="a webhook is retried this long after its event, then given up"
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=60, description="one webhook attempt, connect to answer"
    )
    metrics_dir: Path | None = Field(
        None, description="prometheus-client multiprocess directory shared by the API and "
        "worker processes of one machine; `serve` uses <data_dir>/metrics",
    )  # fmt: skip
    worker_metrics_port: int | None = Field(
        None, ge=1, le=65535, description="a worker alone serves its /metrics on this port"
    )
    ready_needs_workers: bool = Field(
        False, description="/readyz is 503 unless every model has a live worker"
    )

    # --- media inputs -------------------------------------------------------------------
    allow_private_urls: bool = Field(
        False, description="let input URLs reach loopback/private addresses (local testing only)"
    )
    max_image_bytes: int = Field(20_000_000, gt=0)
    max_video_bytes: int = Field(200_000_000, gt=0)
    max_decoded_input_bytes: int = Field(
        1_000_000_000,
        gt=0,
        description="memory one video input may take decoded, at the size its job needs "
        "(a 1080p job: 160 frames); a longer input is refused naming its field",
    )
    input_memory_budget: int = Field(
        2_000_000_000,
        gt=0,
        description="decoded inputs a worker holds at once: a job is prepared ahead only "
        "while those of the jobs in flight leave room for one more of the largest",
    )
    fetch_timeout: float = Field(60.0, gt=0, description="total seconds to download one input")

    # --- engine -------------------------------------------------------------------------
    engine: str = Field(
        "ltx2", description="'ltx2', or 'package.module:factory' for a custom engine"
    )
    checkpoint: str | None = Field(
        None, description="LTX-2 checkpoint dir or hub id; default: a tiny random one (noise!)"
    )
    device: str = Field("auto", description="'auto', 'cpu', 'cuda', 'cuda:1', ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    cpu_offload: bool = Field(False, description="diffusers model CPU offload (less VRAM)")
    vae_tiling: bool = Field(False, description="decode the video VAE in tiles (less VRAM)")
    compile: bool = Field(False, description="torch.compile the transformer")
    attention_backend: str | None = Field(None, description="diffusers attention backend name")
    steps: int | None = Field(
        None, ge=1, le=200, description="denoising steps; default per checkpoint"
    )
    fast_steps: int | None = Field(None, ge=1, le=200, description="steps for motion_mode=fast")
    memory_mode: MemoryMode = Field(
        "auto", description="where the weights live (engines/memory_modes.py); auto: by fit"
    )
    x264_preset: X264Preset = Field(
        "slow", description="libx264's preset for CPU encodes: faster ones take a fraction of "
        "the CPU for larger files at the same quality (CRF), for workers whose few cores "
        "cannot keep up with the device",
    )  # fmt: skip
    # estimates (POST /v2/{slug}/estimate) before the fleet measured a size: FLOPs / this
    estimate_peak_tflops: float = Field(
        989.0, gt=0, description="the workers' bf16 peak, TFLOP/s (default: an H100 SXM's)"
    )
    estimate_utilisation: float = Field(
        0.35, gt=0, le=1, description="the share of that peak a denoising step achieves"
    )

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("REELFORGE_PUBLIC_URL must start with http:// or https://")
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'reelforge.db').resolve()}"

    @property
    def resolved_storage_dir(self) -> Path:
        return (self.storage_dir or self.data_dir / "files").resolve()
