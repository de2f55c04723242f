"""The OpenAI Videos API routes under /v1: `writes` (new work: create, remix, extensions,
edits; behind the disk-room check) and `reads` (get, list, content, delete).

Every create, remix and extension becomes a job row of a Pixverse endpoint, validated
and priced by it (mapping.py), on the one queue; every job, whichever API made it,
answers here as a `Video`. Errors are OpenAI's (errors.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.convertors import StringConvertor, register_url_convertor

from reelforge import endpoints, metrics, uploads
from reelforge.accounts.keys import Caller
from reelforge.api.deps import CallerDep, OwnerDep, Services, ServicesDep, get_base_url
from reelforge.endpoints.fields import Text
from reelforge.errors import BadRequest, Forbidden, InputError, NotFound
from reelforge.jobs import Job, NewJob, Status
from reelforge.media.probe import probe
from reelforge.openai_api import content, docs, forms, listing, mapping
from reelforge.openai_api.errors import OpenAIRoute


class VideoId(StringConvertor):
    """{video_id:video}: any id but the fixed paths beside it (GET /v1/videos/extensions
    is a 405, POST only; not "Video extensions not found")."""

    regex = "(?!(?:extensions|edits)$)[^/]+"


register_url_convertor("video", VideoId())
reads = APIRouter(route_class=OpenAIRoute)
writes = APIRouter(route_class=OpenAIRoute)

CREATE_FIELDS = {"prompt", "model", "seconds", "size", "input_reference"}
REFERENCE_URL = "input_reference[image_url]"
REFERENCE_FILE_ID = "input_reference[file_id]"
EXTEND_FIELDS = {"prompt", "seconds", "video", "video[id]"}
_PROMPT = Text(required=True)


def find_video(services: Services, video_id: str, owner: str) -> Job:
    """The caller's job; someone else's is exactly as unknown as a missing one (404)."""
    job = services.queue.get(video_id)  # None too for what cannot be an id (a NUL, ...)
    if job is None or job.owner != owner:
        raise NotFound(f"Video {video_id} not found")
    return job


def _completed(job: Job, field: str) -> Job:
    if job.status is not Status.COMPLETED:
        state = mapping.video_object(job)["status"]
        raise BadRequest(f"{field}: video {job.id} is {state}, not completed", param=field)
    return job


def _body_limit(services: Services) -> int:
    """The largest body accepted: one input file at its kind's cap, plus the fields."""
    return max(services.settings.max_image_bytes, services.settings.max_video_bytes) + 1_000_000


def _only(form: forms.Form, accepted: set[str]) -> None:
    unknown = sorted(name for name in {*form.fields, *form.files} if name not in accepted)
    if unknown:
        raise BadRequest(
            f"{unknown[0]}: unknown parameter; accepted: {', '.join(sorted(accepted))}",
            param=unknown[0],
        )


def _allowed(caller: Caller, slug: str) -> None:
    if caller.slugs is not None and slug not in caller.slugs:
        allowed = ", ".join(caller.slugs)
        raise Forbidden(f"This API key may not use model {slug}; it may use: {allowed}")


async def _submit(
    request: Request, caller: Caller, services: Services, slug: str, params: dict[str, Any]
) -> Job:
    """Record the job (its price held, as on the Pixverse routes)."""
    endpoint = endpoints.get(slug)
    assert endpoint is not None  # mapping.py names served slugs only
    new = NewJob(
        slug=slug,
        owner=caller.account,
        params=params,
        price_units=services.prices.units(endpoint, params),
        base_url=get_base_url(request, services),
    )
    job = await run_in_threadpool(services.queue.submit, new)
    metrics.job_submitted(slug)
    return job


async def _store(
    services: Services, owner: str, path: Path, field: str, kind: str, base_url: str
) -> str:
    """Keep an uploaded file as an upload of `owner`; its signed URL, which the worker
    reads straight from storage."""
    try:
        found, _, _ = uploads.check_file(path, services.settings)
    except BadRequest as exc:
        raise BadRequest(f"{field}: {exc.message}", param=field) from None
    if found != kind:
        raise BadRequest(f"{field}: must be {_a(kind)}, not {_a(found)}", param=field)
    key, expires = await run_in_threadpool(
        uploads.store, services.db, services.storage, owner, path, services.settings
    )
    return services.signer.url(base_url, key, expires)


def _a(kind: str) -> str:
    return "an image" if kind == "image" else "a video"


def _validated(slug: str, fields: dict[str, Any], services: Services) -> dict[str, Any]:
    endpoint = endpoints.get(slug)
    assert endpoint is not None
    return endpoint.validate(fields, url_checker=services.url_checker)


@writes.post("/v1/videos", openapi_extra=docs.CREATE_BODY)
async def create_video(request: Request, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Create a video: text to video, or image to video with input_reference."""
    _allowed(caller, mapping.CREATE_SLUG)
    base_url = get_base_url(request, services)
    with tempfile.TemporaryDirectory(prefix="reelforge-openai-") as tmp:
        # 1. The form, as the SDK sends it
        form = await forms.read(request, Path(tmp), _body_limit(services))
        _only(form, CREATE_FIELDS | {REFERENCE_URL, REFERENCE_FILE_ID})
        # 2. OpenAI's fields, checked here: model, size, seconds, the reference image
        name = mapping.model(form.text("model"))
        width, height = mapping.size(form.text("size"))
        secs = mapping.seconds(form.text("seconds"), mapping.CREATE_SECONDS)
        image_url: str | None = None
        if "input_reference" in form.files:
            path = form.files["input_reference"]
            image_url = await _store(
                services, caller.account, path, "input_reference", "image", base_url
            )
        elif REFERENCE_FILE_ID in form.fields:
            raise BadRequest(
                "input_reference: file ids are not supported here; send the image itself "
                "or input_reference[image_url]",
                param="input_reference",
            )
        else:
            image_url = form.fields.get(REFERENCE_URL) or form.fields.get("input_reference")
        # 3. pixverse-v6's own validation, then the exact size and the Video's facts
        fields = mapping.create_fields(form.text("prompt"), name, width, height, secs, image_url)
        params = _validated(mapping.CREATE_SLUG, fields, services)
    mapping.add_openai(params, width=width, height=height, name=name, secs=secs)
    job = await _submit(request, caller, services, mapping.CREATE_SLUG, params)
    return JSONResponse(mapping.video_object(job))


@writes.post("/v1/videos/{video_id:video}/remix", openapi_extra=docs.REMIX_BODY)
async def remix_video(
    video_id: str, request: Request, caller: CallerDep, services: ServicesDep
) -> JSONResponse:
    """A new video with a completed one's settings (and seed) and a new prompt."""
    with tempfile.TemporaryDirectory(prefix="reelforge-openai-") as tmp:
        form = await forms.read(request, Path(tmp), 1_000_000)
    _only(form, {"prompt"})
    source = _completed(
        await run_in_threadpool(find_video, services, video_id, caller.account), "video_id"
    )
    _allowed(caller, source.slug)
    prompt = form.text("prompt")
    if prompt is None:
        raise BadRequest("prompt: required", param="prompt")
    try:
        prompt = _PROMPT.check(prompt, None)  # type: ignore[arg-type]
    except ValueError as exc:
        raise BadRequest(f"prompt: {exc}", param="prompt") from None
    params = {**source.params, "prompt": prompt}
    meta = mapping.video_object(source)
    if source.slug in (mapping.CREATE_SLUG, mapping.EXTEND_SLUG) and "size" not in params:
        params["size"] = meta["size"]  # the source's own size, whatever its quality said
    params["openai"] = {
        "model": meta["model"],
        "seconds": meta["seconds"],
        "remixed_from_video_id": source.id,
    }
    job = await _submit(request, caller, services, source.slug, params)
    return JSONResponse(mapping.video_object(job))


@writes.post("/v1/videos/extensions", openapi_extra=docs.EXTEND_BODY)
async def extend_video(request: Request, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Continue a completed video (by id, or the mp4 itself) by `seconds`."""
    _allowed(caller, mapping.EXTEND_SLUG)
    base_url = get_base_url(request, services)
    with tempfile.TemporaryDirectory(prefix="reelforge-openai-") as tmp:
        form = await forms.read(request, Path(tmp), _body_limit(services))
        _only(form, EXTEND_FIELDS)
        secs = mapping.seconds(form.text("seconds"), mapping.EXTEND_SECONDS)
        name = mapping.DEFAULT_MODEL
        # 1. The video: the uploaded mp4, or a completed video of this account by id
        if "video" in form.files:
            path = form.files["video"]
            url = await _store(services, caller.account, path, "video", "video", base_url)
            try:
                facts = await run_in_threadpool(probe, path)
            except InputError as exc:
                raise BadRequest(f"video: {exc}", param="video") from None
            width, height, duration = facts.width, facts.height, facts.duration
        else:
            video_id = form.fields.get("video[id]") or form.fields.get("video")
            if not video_id:
                raise BadRequest("video: required (the mp4, or video[id])", param="video")
            source = _completed(
                await run_in_threadpool(find_video, services, video_id, caller.account), "video"
            )
            assert source.output_key is not None and source.video is not None
            name = mapping.video_object(source)["model"]
            if name not in mapping.MODELS:
                name = mapping.DEFAULT_MODEL  # a Pixverse request's extension
            path = await run_in_threadpool(
                content.copy_out, services.storage, source.output_key, Path(tmp) / "source.mp4"
            )
            url = await _store(services, caller.account, path, "video", "video", base_url)
            width, height = source.video["width"], source.video["height"]
            duration = source.video["duration"]
        mapping.size(f"{width}x{height}", "video")  # the engine must be able to make it
        # 2. pixverse-5-extend's own validation; then its new seconds and the exact size
        fields = mapping.extend_fields(form.text("prompt"), width, height, url)
        params = _validated(mapping.EXTEND_SLUG, fields, services)
    params["duration"] = secs
    total = round(duration) + secs  # the Video's seconds: the stitched whole
    mapping.add_openai(params, width=width, height=height, name=name, secs=total)
    job = await _submit(request, caller, services, mapping.EXTEND_SLUG, params)
    return JSONResponse(mapping.video_object(job))


# hidden from /openapi.json: it only ever answers this 400
@writes.post("/v1/videos/edits", include_in_schema=False)
async def edit_video(_caller: CallerDep) -> JSONResponse:
    """Not supported: say so in OpenAI's format."""
    raise BadRequest(
        "video edits are not supported by Reelforge (its model cannot rewrite a video "
        "in place); use POST /v1/videos/{video_id}/remix for the same settings with a new "
        "prompt, or POST /v1/videos/extensions to continue a video",
        param="video",
        code="unsupported",
    )


@reads.get("/v1/videos")
def list_videos(
    owner: OwnerDep,
    services: ServicesDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> JSONResponse:
    """The account's videos (every unexpired request), in cursor pages."""
    page = listing.page(services.queue, owner, limit=limit, after=after, order=order)
    data = [mapping.video_object(job) for job in page.jobs]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": page.more,
        }
    )


@reads.get("/v1/videos/{video_id:video}")
def get_video(video_id: str, owner: OwnerDep, services: ServicesDep) -> JSONResponse:
    """A video's state."""
    return JSONResponse(mapping.video_object(find_video(services, video_id, owner)))


@reads.delete("/v1/videos/{video_id:video}")
def delete_video(video_id: str, owner: OwnerDep, services: ServicesDep) -> JSONResponse:
    """Delete a video and its files (a running one is cancelled first)."""
    listing.delete(services.queue, services.storage, find_video(services, video_id, owner))
    return JSONResponse({"id": video_id, "object": "video.deleted", "deleted": True})


@reads.get("/v1/videos/{video_id:video}/content", response_model=None)
async def download_content(
    video_id: str,
    owner: OwnerDep,
    services: ServicesDep,
    variant: Literal["video", "thumbnail", "spritesheet"] = "video",
) -> Response:
    """A completed video's mp4, its first frame (JPEG) or a spritesheet (JPEG)."""
    job = _completed(await run_in_threadpool(find_video, services, video_id, owner), "video_id")
    assert job.output_key is not None  # COMPLETED always stores its output
    return await content.answer(services.storage, job.output_key, variant, video_id)
