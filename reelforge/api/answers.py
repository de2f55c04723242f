"""The JSON bodies the API answers with, as pydantic models: for the OpenAPI document only
(`reelforge.api.openapi`). `views` builds the bodies; these say what clients may rely on,
and the schemathesis test holds every real answer to them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelforge.media.probe import VideoFacts

Url = Annotated[str, Field(json_schema_extra={"format": "uri"})]
RequestId = Annotated[str, Field(json_schema_extra={"format": "uuid"})]
State = Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]


class Error(BaseModel):
    """Every error answer: a human message (some carry more fields)."""

    error: str


class StillRunning(Error):
    """A sync call past REELFORGE_SYNC_TIMEOUT: the request goes on; poll it."""

    request_id: RequestId
    status_url: Url
    response_url: Url


class Submitted(BaseModel):
    """A queued request and where to follow it (absolute URLs)."""

    request_id: RequestId
    status: Literal["QUEUED"]
    poll_url: Url = Field(description="GET it for the final body (the same as response_url)")
    status_url: Url = Field(description="GET it for state and progress")
    response_url: Url = Field(description="GET it for the final body: output URL, metrics")
    cached: bool | None = Field(
        None, description="true: served from the result cache, COMPLETED already"
    )


class Replayed(Submitted):
    """A replay: a new request running a COMPLETED one again with its seed."""

    replay_of: RequestId = Field(description="the request it runs again")
    comparable: bool = Field(
        description="a live worker of its model runs the original's checkpoint and versions: "
        "a byte-for-byte match is expected"
    )
    differences: list[str] = Field(description="what differs when not comparable")


class ReplayCheck(BaseModel):
    """A replay's verdict, in its final body."""

    of: RequestId = Field(description="the original request")
    comparable: bool | None = Field(
        description="it ran on the original's checkpoint and versions (null: not COMPLETED)"
    )
    matched: bool | None = Field(
        description="the mp4 is the original's, byte for byte (null: not comparable)"
    )
    differences: list[str] = Field(description="checkpoint or versions that differed")
    original_sha256: str | None = Field(description="sha256 of the original mp4")
    sha256: str | None = Field(description="sha256 of this mp4")


class RequestStatus(BaseModel):
    """State and progress of a request; never its output. FAILED is answered as HTTP 422."""

    request_id: RequestId
    status: State
    status_url: Url
    response_url: Url
    metrics: dict[str, float | None] = Field(description="empty until the request ends")
    progress: float = Field(ge=0, le=1)
    stage: str = Field(
        description="queued, waiting for a worker, starting, fetching inputs, encoding "
        "prompt, denoising, decoding, encoding mp4, uploading, done, failed"
    )
    step: int | None = Field(None, ge=0, description="PROCESSING: denoising steps done")
    steps: int | None = Field(None, ge=1, description="PROCESSING: denoising steps in all")
    eta_seconds: float | None = Field(
        None, ge=0, description="estimated seconds to the end, from what the fleet measured "
        "for this model and size; null until something was measured",
    )  # fmt: skip
    attempt: int = Field(ge=0, description="claims by workers so far")
    queue_position: int | None = Field(
        None, ge=0, description="QUEUED only: requests claimed before it (0: next)"
    )
    error: str | None = Field(None, description="FAILED only: what went wrong")


class Metrics(BaseModel):
    inference_time: float = Field(description="seconds of generation")
    queue_time: float = Field(description="seconds from submit to the first claim")
    total_time: float = Field(description="seconds from submit to the end")
    cost: float = Field(description="credits charged (0 unless COMPLETED)")
    remaining_credits: float | None = Field(description="null: unlimited")
    cached: bool | None = Field(None, description="served from the result cache: true")
    original_request_id: RequestId | None = Field(
        None, description="served from the cache: the request whose output it is (null: "
        "another account's)",
    )  # fmt: skip


class RequestResult(BaseModel):
    """The final body of a request. FAILED is answered as HTTP 422."""

    request_id: RequestId
    status: Literal["COMPLETED", "FAILED"]
    status_url: Url
    response_url: Url
    metrics: Metrics
    output: Url | None = Field(None, description="COMPLETED: signed URL of the mp4")
    seed: int | None = Field(None, description="COMPLETED: the seed used")
    thumbnail: Url | None = Field(
        None, description="COMPLETED: signed URL of its first frame as a JPEG (null: none stored)"
    )
    video: VideoFacts | None = Field(None, description="COMPLETED: facts of the mp4")
    error: str | None = Field(None, description="FAILED: what went wrong")
    manifest: dict[str, Any] | None = Field(
        None, description="COMPLETED: what made it (docs/reproducibility.md)"
    )
    replay: ReplayCheck | None = Field(None, description="a replay only: whether it matched")


class HistoryItem(BaseModel):
    """One request of the account's history."""

    request_id: RequestId
    model: str = Field(description="the model's slug, e.g. pixverse-v6")
    status: State
    created_at: float = Field(description="Unix time of the submit")
    finished_at: float | None = Field(description="Unix time it ended; null until then")
    params: dict[str, Any] = Field(description="the validated parameters, the seed included")
    progress: float = Field(ge=0, le=1)
    stage: str = Field(description="as in the status body")
    error: str | None = Field(None, description="FAILED: what went wrong")
    output: Url | None = Field(None, description="COMPLETED: signed URL of the mp4")
    thumbnail: Url | None = Field(
        None, description="COMPLETED: signed URL of its first frame as a JPEG (null: none stored)"
    )
    seed: int | None = Field(None, description="COMPLETED: the seed used")
    video: VideoFacts | None = Field(None, description="COMPLETED: facts of the mp4")
    cost: float | None = Field(None, description="COMPLETED: credits charged")


class History(BaseModel):
    """The account's unexpired requests, newest first."""

    requests: list[HistoryItem]
    next: RequestId | None = Field(
        description="pass it as `after` for the next page; null: no more requests"
    )


class SyncFailed(BaseModel):
    """A sync call whose request ended FAILED (HTTP 422)."""

    request_id: RequestId
    status: Literal["FAILED"]
    error: str | None


class UserCredits(BaseModel):
    """Credits the caller's account may spend; both null when unlimited."""

    model_config = ConfigDict(populate_by_name=True)

    credits: float | None
    free_credits: float | None = Field(alias="free-credits", description="always 0 or null")


class Worker(BaseModel):
    id: str = Field(description="host:pid:random")
    hostname: str
    pid: int
    slugs: list[str] = Field(description="the models it serves")
    engine: str
    device: str
    memory_bytes: int | None
    started_at: float = Field(description="Unix time")
    heartbeat_at: float = Field(description="Unix time")
    current_job: str | None = Field(description="null when idle or gone")
    jobs_done: int
    live: bool = Field(description="its heartbeat is recent")
    last_seen: float = Field(description="seconds since its heartbeat")


class FleetStatus(BaseModel):
    """Queue depth per model, live workers per model, the models with queued requests that
    no live worker serves, and every worker seen in the last hour."""

    queues: dict[str, dict[Literal["QUEUED", "PROCESSING"], int]]
    workers_per_slug: dict[str, int]
    unserved: list[str]
    workers: list[Worker]


class KeyInfo(BaseModel):
    """An API key as listed: never the key itself."""

    prefix: str = Field(description="what `reelforge keys` and DELETE accept")
    id: str
    account: str
    name: str
    slugs: list[str] | None = Field(description="models it may use; null: all")
    rate_limit: int | None = Field(description="requests per minute; null: server default")
    created_at: float = Field(description="Unix time")
    revoked_at: float | None


class IssuedKey(KeyInfo):
    key: str = Field(description="the API key: shown in this answer only")


class KeyList(BaseModel):
    keys: list[KeyInfo]


class Balance(BaseModel):
    account: str
    unlimited: bool
    balance: float | None = Field(description="credits; null: unlimited")
    held: float = Field(description="credits reserved by running requests")
    available: float | None = Field(description="balance - held; null: unlimited")


class AccountList(BaseModel):
    accounts: list[Balance]


class WebhookSecret(BaseModel):
    """The key that signs an account's webhooks (Standard Webhooks, docs/webhooks.md)."""

    secret: str = Field(description="whsec_ + base64 of 32 random bytes")


class WebhookAttempt(BaseModel):
    attempt: int = Field(ge=1)
    at: float = Field(description="Unix time it started")
    status_code: int | None = Field(description="the receiver's answer; null: none")
    error: str | None = Field(description="why it did not count; null: delivered")
    seconds: float = Field(description="how long it took")


class WebhookDelivery(BaseModel):
    id: str = Field(description="the webhook-id header")
    event: Literal["start", "progress", "completed"]
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int = Field(ge=0)
    created_at: float = Field(description="Unix time of the event")
    next_attempt_at: float | None = Field(description="pending only: not tried before")
    finished_at: float | None = Field(description="delivered or given up")
    attempt_log: list[WebhookAttempt]


class WebhookDeliveries(BaseModel):
    """A request's webhook deliveries, oldest first."""

    request_id: RequestId
    deliveries: list[WebhookDelivery]


MODELS: tuple[type[BaseModel], ...] = (
    Error,
    StillRunning,
    Submitted,
    Replayed,
    RequestStatus,
    RequestResult,
    History,
    SyncFailed,
    UserCredits,
    FleetStatus,
    IssuedKey,
    KeyList,
    Balance,
    AccountList,
    WebhookSecret,
    WebhookDeliveries,
)
