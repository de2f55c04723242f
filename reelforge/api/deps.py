"""FastAPI dependencies that read like prose: `owner: OwnerDep`, `caller: CallerDep`.

They are `async` and do no I/O on the way that matters (a key seen a moment ago, an
in-memory rate limit): FastAPI runs a sync dependency in the thread pool, a hop per
dependency per request. Whatever blocks (the database, Redis) goes to the pool."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import anyio
from fastapi import Depends, Header, Request
from limits.storage import MemoryStorage
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from reelforge.accounts import keys
from reelforge.accounts.keys import Caller, KeyCache
from reelforge.accounts.prices import PriceTable
from reelforge.accounts.ratelimit import RateLimiter
from reelforge.api.capacity import READY_TIMEOUT_SECONDS, DatabaseWatch
from reelforge.api.status_bodies import StatusBodies
from reelforge.endpoints import UrlChecker
from reelforge.errors import NotFound, Unauthorized
from reelforge.jobs import Job, JobQueue
from reelforge.jobs.reads import Reads
from reelforge.jobs.timings import StatsCache
from reelforge.settings import Settings
from reelforge.storage import Storage, UrlSigner

if TYPE_CHECKING:
    from reelforge.api.watch import Watch


log = logging.getLogger("reelforge.api")
STATUS_READ_THREADS = 4


@dataclass
class Services:
    """What the routes share; built once by create_app."""

    settings: Settings
    db: Engine  # the database every table lives in (jobs/schema.py)
    queue: JobQueue  # job operations on `db`
    storage: Storage
    signer: UrlSigner
    admin_key: str
    url_checker: UrlChecker  # vets media URLs at submit (400 before any job exists)
    limiter: RateLimiter  # requests per minute per key
    prices: PriceTable  # what a job costs
    timings: StatsCache  # what the fleet measured per model and size (ETAs)
    watch: Watch = field(init=False)  # the stream clients' one reader (set by create_app)
    key_cache: KeyCache = field(init=False)  # callers authenticated a moment ago
    reads: Reads = field(init=False)  # the status route's reads (jobs/reads.py)
    # keys being looked up in the database now, for the requests presenting them meanwhile
    authenticating: dict[str, asyncio.Future[Caller | None]] = field(init=False)
    # threads for /status reads: a few, not the pool's 40, where 64 polling clients would
    # fight for the GIL (and SQLite's lock) and stretch the slowest answers
    status_reads: anyio.CapacityLimiter = field(init=False)
    status_bodies: StatusBodies = field(init=False)  # rendered a moment ago (status_bodies.py)
    refreshing: dict[str, asyncio.Task[Caller | None]] = field(init=False)  # keys renewed now
    database: DatabaseWatch = field(init=False)  # whether it answered its latest probe

    def __post_init__(self) -> None:
        self.key_cache = KeyCache(self.settings.key_cache_seconds)
        self.reads = Reads(self.queue)
        self.authenticating = {}
        self.status_reads = anyio.CapacityLimiter(STATUS_READ_THREADS)
        self.status_bodies = StatusBodies()
        self.refreshing = {}
        self.database = DatabaseWatch(self.db, READY_TIMEOUT_SECONDS)


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_caller(
    services: ServicesDep,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Caller:
    """The key's caller, its request counted against its rate limit (401, 429)."""
    return await authenticate(services, x_api_key, authorization)


async def authenticate(
    services: Services, x_api_key: str | None, authorization: str | None
) -> Caller:
    """The caller of a request with these headers, counted against its rate limit (401,
    429). The key comes in `x-api-key` or, as the OpenAI SDK sends it, `Authorization:
    Bearer <key>`."""
    if not x_api_key and authorization:
        scheme, _, token = authorization.partition(" ")
        x_api_key = token.strip() if scheme.lower() == "bearer" else None
    if not x_api_key:
        raise Unauthorized("Missing API key: send it in the x-api-key header")
    services.database.check()  # 503 at once while the database does not answer at all
    # 1. The key: from the cache (no I/O), else from the database in the thread pool
    caller = keys.recall(x_api_key, services.admin_key, services.key_cache)
    if caller is None:
        caller = await _authenticate_once(services, x_api_key)
    elif isinstance(caller, Caller) and services.key_cache.due(x_api_key):
        _refresh_soon(services, x_api_key)
    if not isinstance(caller, Caller):
        raise Unauthorized("Invalid API key")
    # 2. Its rate limit: counting in memory is CPU only; in Redis it is a round trip
    if isinstance(services.limiter.storage, MemoryStorage):
        services.limiter.check(caller)
    else:
        await run_in_threadpool(services.limiter.check, caller)
    return caller


def _refresh_soon(services: Services, key: str) -> None:
    """Renew a remembered key's entry in the background (once at a time per key): the
    requests presenting it go on with what the cache says. A failed lookup changes
    nothing; the entry then lapses and the next request asks the database itself."""
    if key in services.refreshing:
        return
    lookup = run_in_threadpool(keys.refresh, services.db, key, services.key_cache)
    task = asyncio.get_running_loop().create_task(lookup)
    services.refreshing[key] = task

    def done(finished: asyncio.Task[Caller | None]) -> None:
        services.refreshing.pop(key, None)
        if not finished.cancelled() and finished.exception() is not None:
            log.warning("could not renew a key's cache entry (%s)", finished.exception())

    task.add_done_callback(done)


async def _authenticate_once(services: Services, key: str) -> Caller | None:
    """The database's word on `key`, asked once however many requests present it at the
    same moment: when a busy key's cache entry expires, all its pollers miss at once, and
    each asking in the thread pool made a burst of queries (and the slowest answers)."""
    pending = services.authenticating.get(key)
    if pending is not None:
        await asyncio.wait({pending})  # raises nothing of the first asker's
        if not pending.cancelled():
            return pending.result()
        # the first asker failed (a database error is its own answer): ask ourselves
    else:
        pending = asyncio.get_running_loop().create_future()
        services.authenticating[key] = pending
        try:
            caller = await run_in_threadpool(
                keys.authenticate, services.db, key, services.admin_key, services.key_cache
            )
        except BaseException:
            pending.cancel()  # those waiting ask for themselves
            raise
        finally:
            if services.authenticating.get(key) is pending:
                del services.authenticating[key]
        pending.set_result(caller)
        return caller
    return await run_in_threadpool(
        keys.authenticate, services.db, key, services.admin_key, services.key_cache
    )


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_owner(caller: CallerDep) -> str:
    """The account the caller acts for: it owns the jobs the caller submits."""
    return caller.account


OwnerDep = Annotated[str, Depends(get_owner)]


def get_base_url(request: Request, services: ServicesDep) -> str:
    """Where clients reach us: the configured public URL, else this request's own base."""
    if services.settings.public_url:
        return services.settings.public_url
    # what Starlette's `request.base_url` says, without building and parsing a URL (a
    # noticeable share of the status route): the Host header, else the server's address
    scope = request.scope
    host = request.headers.get("host")
    if not host:
        server_host, port = scope.get("server") or ("localhost", None)
        default = {"http": 80, "https": 443}.get(scope["scheme"])
        host = server_host if port in (None, default) else f"{server_host}:{port}"
    return f"{scope['scheme']}://{host}{scope.get('root_path', '')}".rstrip("/")


async def _base_url(request: Request, services: ServicesDep) -> str:
    return get_base_url(request, services)


BaseUrlDep = Annotated[str, Depends(_base_url)]


def find_job(services: Services, job_id: str, owner: str) -> Job:
    """The caller's job; someone else's job is exactly as unknown as a missing one."""
    job = services.queue.get(job_id)
    if job is None or job.owner != owner:
        raise NotFound(f"Request {job_id} not found")
    return job
