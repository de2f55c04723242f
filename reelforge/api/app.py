"""The HTTP application: create_app(settings) wires routes, services and the one place
where errors become HTTP answers ({"error": message}), on a connection that stays open."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge import __version__, accounts, endpoints, jobs, uploads, views
from reelforge.accounts import credits, idempotency
from reelforge.accounts.prices import PriceTable
from reelforge.accounts.ratelimit import RateLimiter
from reelforge.api import (
    admin_routes,
    capacity,
    estimate_routes,
    files_routes,
    history_routes,
    keys_routes,
    metrics_routes,
    openapi,
    replay_routes,
    requests_routes,
    stream_routes,
    submit_routes,
    uploads_routes,
    web_routes,
    webhooks_routes,
)
from reelforge.api.deps import CallerDep, OwnerDep, Services, ServicesDep
from reelforge.api.watch import Watch
from reelforge.errors import ApiError
from reelforge.jobs.history import thumbnail_key
from reelforge.jobs.timings import StatsCache
from reelforge.metrics.http import HttpMetrics
from reelforge.metrics.readiness import Readiness
from reelforge.openai_api import reads as openai_reads
from reelforge.openai_api import writes as openai_writes
from reelforge.settings import Settings
from reelforge.storage import UrlSigner, load_secret, open_storage

log = logging.getLogger("reelforge.api")


def build_services(settings: Settings) -> Services:
    """Every service the routes share, built once."""
    queue = jobs.open_queue(settings)
    credits.ensure_admin(queue.db, settings.admin_credits)
    signer = UrlSigner(load_secret(settings.signing_secret, settings.data_dir))
    url_checker = endpoints.media_url_checker(
        max_image_bytes=settings.max_image_bytes,
        max_video_bytes=settings.max_video_bytes,
        allow_private=settings.allow_private_urls,
    )
    return Services(
        settings=settings,
        db=queue.db,
        queue=queue,
        storage=open_storage(settings),
        signer=signer,
        admin_key=accounts.admin_key(settings),
        # this server's own upload URLs pass (they point at us, often on loopback)
        url_checker=uploads.accept_own_uploads(url_checker, signer),
        limiter=RateLimiter(settings.rate_limit_storage_url, settings.rate_limit_per_minute),
        prices=PriceTable(settings.prices),
        timings=StatsCache(queue.db),
    )


def reap_expired(services: Services) -> int:
    """Delete jobs past their retention and their files (and forgotten idempotency
    keys); returns how many jobs went."""
    idempotency.purge(services.db)
    uploads.purge(services.db, services.storage)  # expired input uploads
    expired = services.queue.expire()
    for job in expired:
        if not job.output_key:
            continue
        for key in (job.output_key, thumbnail_key(job.output_key)):  # no thumbnail: a no-op
            try:
                services.storage.delete(key)
            except Exception:  # the row is gone already: log, and let the sweep go on
                log.exception("could not delete %s of expired request %s", key, job.id)
    return len(expired)


async def _reaper(services: Services) -> None:
    while True:
        try:
            count = await run_in_threadpool(reap_expired, services)
            if count:
                log.info("expired %d request(s)", count)
        except Exception:  # a failed sweep must not stop the next one
            log.exception("expiry sweep failed")
        await asyncio.sleep(services.settings.reap_seconds)


def create_app(settings: Settings) -> FastAPI:
    services = build_services(settings)
    services.watch = Watch(services)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.create_task(_reaper(services))
        database = asyncio.create_task(services.database.run())
        await services.watch.start()
        yield
        reaper.cancel()
        database.cancel()
        services.database.close()
        await services.watch.stop()

    app = FastAPI(title="Reelforge", version=__version__, lifespan=lifespan)
    app.state.services = services
    _install_error_handlers(app)
    app.add_middleware(HttpMetrics)  # outermost: it sees every answer's status
    app.include_router(requests_routes.router)
    app.include_router(files_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(keys_routes.router)
    app.include_router(stream_routes.router)
    app.include_router(webhooks_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(history_routes.router)  # GET /v1/requests, before /v1/{slug}
    app.include_router(estimate_routes.router)  # POST /v2/{slug}/estimate: no job
    app.include_router(openai_reads)  # the OpenAI Videos API (GET, DELETE /v1/videos...)
    web_routes.install(app, services.storage)  # the playground at / and /web/

    @app.get("/v1/get-user-credits")
    def get_user_credits(owner: OwnerDep, services: ServicesDep) -> dict[str, float | None]:
        """Credits the caller's account may still spend (null: unlimited)."""
        balance = credits.balance(services.db, owner)
        return views.user_credits(None if balance is None else balance.available)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness: the process answers (whatever the state of the database)."""
        return {"status": "ok"}

    ready = Readiness(
        services.db,
        endpoints.SLUGS,
        settings.heartbeat_seconds,
        needs_workers=settings.ready_needs_workers,
    )

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Readiness: 200 while the database answers, its schema is current and (if
        REELFORGE_READY_NEEDS_WORKERS) every model has a live worker; else 503 and why."""
        problem = await services.database.probe()
        problem = problem or await run_in_threadpool(ready.problem)
        if problem:
            headers = {"Retry-After": str(capacity.RETRY_AFTER_SECONDS)}
            return JSONResponse({"error": problem}, 503, headers=headers)
        return JSONResponse({"status": "ready"})

    room = capacity.DiskRoom(capacity.work_dirs(settings), settings.min_free_bytes)

    def require_room(_caller: CallerDep) -> None:
        """New work only while there is room to store it (507); the key is checked first."""
        room.check()

    accepting = [Depends(require_room)]
    # POST /v1/files, before /v1/{slug}
    app.include_router(uploads_routes.router, dependencies=accepting)
    app.include_router(openai_writes, dependencies=accepting)  # POST /v1/videos...
    # last: /v1/{slug} and /v2/{slug} would otherwise shadow the fixed paths above
    app.include_router(replay_routes.router, dependencies=accepting)  # a submit too
    app.include_router(submit_routes.router, dependencies=accepting)
    openapi.install(app)  # /openapi.json: per-model paths, the key, the real statuses
    return app


def _install_error_handlers(app: FastAPI) -> None:
    """Every error answer is {"error": "<message>"} (plus extra fields some carry): an
    ApiError with its status; a database that cannot be reached 503 (Retry-After) and a
    full disk 507 (`capacity.service_error`); anything else 500, its traceback logged once.
    No error answer closes the client's connection."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _api_answer(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(
            str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path")
        )
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}"}, 400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        message = "Not found" if exc.status_code == 404 else str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the methods of the first route only
            headers["Allow"] = ", ".join(_methods_at(request))
        return JSONResponse({"error": message}, exc.status_code, headers=headers)

    app.add_middleware(_AnswerEveryError)  # whatever the handlers above leave


def _api_answer(error: ApiError) -> JSONResponse:
    body = {"error": error.message, **error.extra}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def error_answer(error: Exception) -> JSONResponse:
    """The answer to an exception no route or handler dealt with."""
    while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]  # as task groups (streaming answers) wrap it
    if isinstance(error, ApiError):
        return _api_answer(error)
    outage = capacity.service_error(error)
    if outage is None:
        log.error("unhandled error", exc_info=error)
        return JSONResponse({"error": "internal server error"}, status_code=500)
    first_line = next(iter(str(error).strip().splitlines()), "")
    log.warning("answered %d: %s (%s: %s)", outage.status, outage.message,
                type(error).__name__, first_line)  # fmt: skip
    return _api_answer(outage)


class _AnswerEveryError:
    """Answers an exception that escaped every handler, and then returns.

    Starlette's ServerErrorMiddleware would send a 500 too, but re-raises afterwards, and
    uvicorn closes the connection of an app that raised: every 500 (and every request
    during a database outage) would reset the client's keep-alive connection. Only an
    error after the answer has begun still propagates: then closing is the only signal."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except ClientDisconnect:
            return  # gone while we read its body: nobody to answer, nothing went wrong
        except Exception as error:
            if started:
                raise
            await error_answer(error)(scope, receive, send)


def _methods_at(request: Request) -> list[str]:
    """Every method some route serves at the request's path."""
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def app_from_env() -> FastAPI:
    """The API alone, configured from REELFORGE_* variables: for API-only replicas,
    `uvicorn --factory reelforge.api.app:app_from_env` (no worker, no model)."""
    from reelforge.api.server import settle_heap

    app = create_app(Settings())
    settle_heap()  # a process of its own: see api/server.py
    return app
