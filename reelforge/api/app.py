"""The HTTP application: create_app(settings) wires routes, services and the one place
where errors become HTTP answers ({"error": message})."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from reelforge import __version__, accounts, endpoints, jobs
from reelforge.accounts import credits, idempotency
from reelforge.accounts.prices import PriceTable
from reelforge.accounts.ratelimit import RateLimiter
from reelforge.api import (
    admin_routes,
    files_routes,
    keys_routes,
    requests_routes,
    submit_routes,
    uploads_routes,
    views,
)
from reelforge.api.deps import OwnerDep, Services, ServicesDep
from reelforge.errors import ApiError
from reelforge.media import uploads
from reelforge.settings import Settings
from reelforge.storage import UrlSigner, load_secret, open_storage

log = logging.getLogger("reelforge.api")


def build_services(settings: Settings) -> Services:
    queue = jobs.open_queue(settings)
    credits.ensure_admin(queue.engine, settings.admin_credits)
    return Services(
        settings=settings,
        queue=queue,
        storage=open_storage(settings),
        signer=UrlSigner(load_secret(settings.signing_secret, settings.data_dir)),
        admin_key=accounts.admin_key(settings),
        url_checker=endpoints.media_url_checker(
            max_image_bytes=settings.max_image_bytes,
            max_video_bytes=settings.max_video_bytes,
            allow_private=settings.allow_private_urls,
        ),
        limiter=RateLimiter(settings.rate_limit_storage_url, settings.rate_limit_per_minute),
        prices=PriceTable(settings.prices),
    )


def reap_expired(services: Services) -> int:
    """Delete jobs past their retention and their files (and forgotten idempotency
    keys); returns how many jobs went."""
    idempotency.purge(services.queue.engine)
    uploads.purge(services.queue.engine, services.storage)  # expired input uploads
    expired = services.queue.expire()
    for job in expired:
        if not job.output_key:
            continue
        try:
            services.storage.delete(job.output_key)
        except Exception:  # the row is gone already: log, and let the sweep go on
            log.exception("could not delete %s of expired request %s", job.output_key, job.id)
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

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.create_task(_reaper(services))
        yield
        reaper.cancel()

    app = FastAPI(title="Reelforge", version=__version__, lifespan=lifespan)
    app.state.services = services
    _install_error_handlers(app)
    app.include_router(requests_routes.router)
    app.include_router(files_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(keys_routes.router)

    @app.get("/v1/get-user-credits")
    def get_user_credits(owner: OwnerDep, services: ServicesDep) -> dict[str, float | None]:
        """Credits the caller's account may still spend (null: unlimited)."""
        balance = credits.balance(services.queue.engine, owner)
        return views.user_credits(None if balance is None else balance.available)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uploads_routes.register(app, services)  # POST /v1/files, before /v1/{slug}
    # last: /v1/{slug} and /v2/{slug} would otherwise shadow the fixed paths above
    app.include_router(submit_routes.router)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    """Every error answer is {"error": "<message>"} (plus extra fields some carry)."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        body = {"error": exc.message, **exc.extra}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(
            str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path")
        )
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}"}, 400)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        message = "Not found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse({"error": message}, exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"error": "internal server error"}, status_code=500)


def app_from_env() -> FastAPI:
    """The API alone, configured from REELFORGE_* variables: for API-only replicas,
    `uvicorn --factory reelforge.api.app:app_from_env` (no worker, no model)."""
    return create_app(Settings())
