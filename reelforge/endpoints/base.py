"""`Endpoint`: one slug's parameters (a pydantic model), its rules, its plan and its price.

    validate(body) -> params      in the API process, before any job exists
    price(params) -> credits      in the API process, to check and bill credits
    plan(params, media) -> task   in the worker, once the media_fields are decoded

`params` is a plain JSON-serializable dict with every parameter present (defaults filled
in, `None` where an optional input was not given) and the seed resolved, so it can be
stored with the job and the seed reported.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError

from reelforge.endpoints import pricing
from reelforge.endpoints.fields import (
    MediaKind,
    Rule,
    UrlChecker,
    check_url_syntax,
    random_seed,
    show,
)
from reelforge.endpoints.sizes import ASPECT_RATIOS, PictureSize, explicit_size, output_size_for
from reelforge.errors import BadRequest
from reelforge.task import FPS, Clip, GenerationTask

Media = Mapping[str, Image.Image | Clip]


class Params(BaseModel):
    """Base of every endpoint's parameter model."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(ABC):
    slug: ClassVar[str]
    # URL parameters the worker downloads and decodes before `plan`, and what they hold
    media_fields: ClassVar[Mapping[str, MediaKind]] = {}
    params_model: ClassVar[type[Params]]
    rules: ClassVar[tuple[Rule, ...]] = ()  # checks across fields, after the model
    # the aspect ratios an input picture's own aspect is snapped to, which its output takes
    aspects: ClassVar[tuple[str, ...]] = tuple(ASPECT_RATIOS)

    def validate(
        self, body: object, *, url_checker: UrlChecker = check_url_syntax
    ) -> dict[str, Any]:
        """The request body -> normalized params, or BadRequest naming the field.

        `url_checker(url, kind)` vets each media URL and raises ValueError with a reason;
        the default only checks the syntax (see `fields.media_url_checker`).
        """
        # 1. A JSON object of known parameters; null means "not given".
        if not isinstance(body, Mapping):
            raise BadRequest("request body must be a JSON object")
        given = {key: value for key, value in body.items() if value is not None}
        self._reject_unknown(given)
        # 2. Types, allowed values and defaults.
        try:
            model = self.params_model.model_validate(given, context={"url_checker": url_checker})
        except ValidationError as error:
            raise BadRequest(_message(error)) from None
        params = model.model_dump(mode="json")
        # 3. Rules across fields.
        for rule in self.rules:
            rule(params)
        # 4. The seed actually used.
        if params.get("seed") is None:
            params["seed"] = random_seed()
        return params

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The parameters as JSON Schema: fields in the order users fill them in, with their
        defaults, allowed values and ranges, and the rules across fields under `allOf`."""
        schema = cls.params_model.model_json_schema()
        schema["title"] = f"{cls.slug} parameters"
        # `validate` takes null for any parameter as "not given" (its default): the
        # schema says so, so that what it calls valid and what a submit takes agree
        required = set(schema.get("required", ()))
        properties = schema.get("properties", {})
        for name, prop in properties.items():
            if name not in required:
                properties[name] = _nullable(prop)
        rules = [part for rule in cls.rules for part in rule.schema]
        if rules:
            schema["allOf"] = rules
        return schema

    def output_size(self, params: Mapping[str, Any], source: Any | None) -> tuple[int, int]:
        """The job's output (width, height): an explicit `size`, else its quality at the
        aspect of its input picture `source` (anything with .width and .height: the first
        image, the video to extend), snapped to `aspects`, or at the requested aspect.
        `plan` sizes the job with it, and the worker decodes the input no larger than it
        needs (worker/inputs.py), before the media exist."""
        return explicit_size(params) or output_size_for(
            params["quality"], params.get("aspect_ratio") or "16:9", source, self.aspects
        )

    def size_for(self, params: Mapping[str, Any]) -> Callable[[int, int], tuple[int, int]]:
        """`output_size` as a function of an input picture's (width, height), known from
        its header before anything is decoded (media.decode's `size_for`)."""
        return lambda width, height: self.output_size(params, PictureSize(width, height))

    @abstractmethod
    def plan(self, params: Mapping[str, Any], media: Media) -> GenerationTask:
        """Validated params + decoded media (keyed by field name) -> the engine's task."""

    def price(self, params: Mapping[str, Any]) -> float:
        """Credits for this job. The aspect is the requested one (an input image's own
        aspect is not known before it is downloaded). An explicit `size` is priced at
        its own pixels."""
        size = explicit_size(params)
        if size is not None:
            fast = params["motion_mode"] == "fast"
            return pricing.credits_at(*size, seconds=params["duration"], fast=fast)
        return pricing.credits(
            quality=params["quality"],
            aspect=params.get("aspect_ratio") or "16:9",
            seconds=params["duration"],
            fast=params["motion_mode"] == "fast",
        )

    def _reject_unknown(self, given: Mapping[Any, Any]) -> None:
        fields = self.params_model.model_fields
        unknown = [key for key in given if key not in fields]
        if unknown:
            names = ", ".join(show(key) for key in unknown)
            noun = "parameter" if len(unknown) == 1 else "parameters"
            raise BadRequest(f"unknown {noun} {names}; accepted: {', '.join(sorted(fields))}")


_ANNOTATIONS = ("title", "description", "default", "examples", "deprecated")


def _nullable(prop: dict[str, Any]) -> dict[str, Any]:
    """`prop` with null allowed too, the way pydantic writes an Optional field: its
    annotations (title, default, ...) outside, `anyOf: [<the rest>, {"type": "null"}]`."""
    options = prop.get("anyOf")
    if options is not None:
        if {"type": "null"} not in options:
            return {**prop, "anyOf": [*options, {"type": "null"}]}
        return prop
    outer = {key: value for key, value in prop.items() if key in _ANNOTATIONS}
    inner = {key: value for key, value in prop.items() if key not in _ANNOTATIONS}
    return {**outer, "anyOf": [inner, {"type": "null"}]}


def _message(error: ValidationError) -> str:
    """The first problem pydantic found, as "<field>: <what is allowed>"."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        return f"{field}: required"
    reason = first.get("ctx", {}).get("error") or first["msg"]
    return f"{field}: {reason}" if field else str(reason)


def image(media: Media, field: str) -> Image.Image:
    """The decoded image for `field`; the worker must have decoded every given media field."""
    value = media[field]
    if not isinstance(value, Image.Image):
        raise TypeError(f"{field}: expected a decoded image, got {type(value).__name__}")
    return value


def clip(media: Media, field: str) -> Clip:
    """The decoded video for `field`."""
    value = media[field]
    if not isinstance(value, Clip):
        raise TypeError(f"{field}: expected a decoded Clip, got {type(value).__name__}")
    return value


def frames(seconds: int) -> int:
    """Frames of a generated clip: 24 per second plus the first (LTX-2 wants 8k+1)."""
    return FPS * seconds + 1


def exact_seconds(params: Mapping[str, Any]) -> bool:
    """Whether a job's output must last exactly its `duration`: 24 frames a second, the
    engine's extra frame cut (`GenerationTask.output_frames`).

    Not a parameter of any endpoint (their schemas refuse it), like `sizes.explicit_size`'s
    `size`: the OpenAI Videos API (`reelforge.openai_api`) sets `exact_seconds` after
    validation, since its `seconds` are exact where the Pixverse durations are 24 n + 1
    frames."""
    return params.get("exact_seconds") is True
