"""Parameter types and rules shared by the five endpoints.

Each type is a small annotation for a pydantic field (`Annotated[int, OneOf(5, 8)]`) that
does its own coercion and raises a `ValueError` whose text completes the sentence
"<field>: ..." — e.g. "must be one of 5, 8 (got 6)". `base.Endpoint.validate` prefixes
the field name and raises it as `BadRequest`. Coercion is deliberately narrow: "5" -> 5
and "true" -> True are accepted, booleans for integers and floats with fractions are not.

Rules across fields (`Rule`) work on the normalized parameter dict and raise
`BadRequest` themselves, naming the fields involved.

Every annotation and rule also states itself in JSON Schema, for the OpenAPI document
(`Endpoint.json_schema`): a form builder or client generator sees the values the server
accepts from a typical client (the coercions above are a superset it need not know).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from reelforge.endpoints.prompting import SPEAKER_IDS, STYLES
from reelforge.endpoints.sizes import FAMILY_ASPECTS, QUALITIES
from reelforge.errors import BadRequest

MediaKind = Literal["image", "video"]
# url_checker(url, kind) -> None, raising ValueError with a short reason when the URL is not
# acceptable; `validate` names the field. Injected by the caller (see `media_url_checker`).
UrlChecker = Callable[[str, MediaKind], None]

MAX_PROMPT_CHARS = 5000  # prompts, negative prompts, sound and speech texts
_INT_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
# JSON Schema patterns (ECMA-262) of what `Text` and `MediaUrl` accept
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"  # some character other than white space
# a port is 0..65535: the server's own upload URLs carry five-digit ports too
PORT = r"([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
MEDIA_URL = (
    rf"^(https?://[A-Za-z0-9_.-]+(:{PORT})?([/?#][!-~]*)?"
    r"|data:(image|video)/[A-Za-z0-9.+-]+(;base64)?,[A-Za-z0-9+/=]*)$"
)


def show(value: object) -> str:
    """A short rendering of a client's value for an error message."""
    try:
        text = json.dumps(value) if value is None or isinstance(value, bool) else repr(value)
    except ValueError:  # an integer too long to print (Python caps int -> str at 4300 digits)
        return "a number too large to print"
    return text if len(text) <= 60 else text[:57] + "..."


def plain_text(value: str) -> str:
    """`value`, refused when a database could not store it (NUL, unpaired surrogates)."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (unpaired surrogate)") from None
    return value


def to_int(value: object) -> int:
    """An integer from an int, a whole float or a decimal string; ValueError otherwise."""
    if isinstance(value, bool):  # bool is an int subclass: true must not mean 1
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        return int(value)  # may raise ValueError for absurdly long digit strings
    raise ValueError


class _Field:
    """Base of the annotations: a plain pydantic validator plus a JSON schema."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(self.check)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return self.json_schema()

    def check(self, value: Any, info: ValidationInfo) -> Any:
        raise NotImplementedError

    def json_schema(self) -> JsonSchemaValue:
        raise NotImplementedError


class OneOf(_Field):
    """One of a fixed set of strings or integers."""

    def __init__(self, *values: str | int) -> None:
        self.values = values
        self.numeric = isinstance(values[0], int)

    def check(self, value: Any, info: ValidationInfo) -> str | int:
        allowed = ", ".join(show(v) for v in self.values)
        problem = ValueError(f"must be one of {allowed} (got {show(value)})")
        if self.numeric:
            try:
                value = to_int(value)
            except ValueError:
                raise problem from None
        if not isinstance(value, str | int) or isinstance(value, bool) or value not in self.values:
            raise problem
        return value

    def json_schema(self) -> JsonSchemaValue:
        return {"type": "integer" if self.numeric else "string", "enum": list(self.values)}


class IntRange(_Field):
    """An integer from lo to hi inclusive."""

    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi

    def check(self, value: Any, info: ValidationInfo) -> int:
        problem = ValueError(f"must be an integer from {self.lo} to {self.hi} (got {show(value)})")
        try:
            number = to_int(value)
        except ValueError:
            raise problem from None
        if not self.lo <= number <= self.hi:
            raise problem
        return number

    def json_schema(self) -> JsonSchemaValue:
        return {"type": "integer", "minimum": self.lo, "maximum": self.hi}


class Flag(_Field):
    """A boolean: true/false, also as the strings "true"/"false" or the integers 1/0 (the
    schema says all three: a 0 is taken, so it is no schema violation)."""

    _WORDS = {"true": True, "false": False, "1": True, "0": False}

    def check(self, value: Any, info: ValidationInfo) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in self._WORDS:
            return self._WORDS[value.strip().lower()]
        raise ValueError(f"must be true or false (got {show(value)})")

    def json_schema(self) -> JsonSchemaValue:
        words = "|".join(
            "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in word) for word in self._WORDS
        )
        return {
            "anyOf": [
                {"type": "boolean"},
                {"type": "integer", "enum": [0, 1]},
                {"type": "string", "pattern": rf"^\s*({words})\s*$"},
            ]
        }


class Text(_Field):
    """A string of at most MAX_PROMPT_CHARS, stripped; `required` also forbids blank."""

    def __init__(self, *, required: bool = False) -> None:
        self.required = required

    def check(self, value: Any, info: ValidationInfo) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string (got {show(value)})")
        text = plain_text(value.strip())
        if self.required and not text:
            raise ValueError("must not be empty")
        if len(text) > MAX_PROMPT_CHARS:
            raise ValueError(f"must be at most {MAX_PROMPT_CHARS} characters (got {len(text)})")
        return text

    def json_schema(self) -> JsonSchemaValue:
        schema = {"type": "string", "maxLength": MAX_PROMPT_CHARS, "pattern": NO_NUL}
        if self.required:
            schema.update(minLength=1, pattern=NOT_BLANK)
        return schema


class MediaUrl(_Field):
    """An http(s) or data: URL of an image or video, checked by the injected UrlChecker."""

    def __init__(self, kind: MediaKind) -> None:
        self.kind: MediaKind = kind

    def check(self, value: Any, info: ValidationInfo) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be an http(s) or data: URL (got {show(value)})")
        url = plain_text(value.strip())
        check_uri_characters(url)
        checker: UrlChecker = (info.context or {}).get("url_checker", check_url_syntax)
        checker(url, self.kind)  # its ValueError becomes "<field>: <reason>"
        return url

    def json_schema(self) -> JsonSchemaValue:
        return {"type": "string", "format": "uri", "pattern": MEDIA_URL}


def check_uri_characters(url: str) -> None:
    """What the schema's `format: uri` (RFC 3986) allows of an http(s) URL, so that the
    two agree: ASCII, none of the characters a URI must escape, every % an escape."""
    if url[:4].lower() != "http":
        return  # a data: URL's payload is checked as data (media/ingest.py)
    if not _URI_CHARACTERS.fullmatch(url) or _BAD_ESCAPE.search(url):
        raise ValueError(
            f"malformed URL {show(url)}: percent-encode spaces, non-ASCII letters and "
            'the characters <>"{}|\\^` (and a % that starts no %XX escape)'
        )


_URI_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_url_syntax(url: str, kind: MediaKind) -> None:
    """The minimal UrlChecker: http(s) with a host, or a data: URL. No network."""
    colon = url.find(":", 0, 64)  # not url.split: a data: URL may be hundreds of MB
    scheme = url[:colon].lower() if colon >= 0 else ""
    if scheme == "data":
        if "," not in url:
            raise ValueError("malformed data: URL (expected data:<type>;base64,<data>)")
        return
    if scheme not in ("http", "https"):
        raise ValueError(f"must be an http(s) or data: URL (got {show(url)})")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        raise ValueError(f"malformed URL {show(url)}") from None
    if not parts.hostname or any(c.isspace() for c in url):
        raise ValueError(f"malformed URL {show(url)}")


def media_url_checker(
    *, max_image_bytes: int, max_video_bytes: int, allow_private: bool
) -> UrlChecker:
    """The UrlChecker the API passes to `validate`: `media.ingest.check_url` (offline: scheme,
    syntax, literal private addresses, data: URL size) with the limits from settings."""
    from reelforge.media.ingest import check_url  # imported here: endpoints need no httpx

    def checker(url: str, kind: MediaKind) -> None:
        max_bytes = max_image_bytes if kind == "image" else max_video_bytes
        check_url(url, max_bytes=max_bytes, allow_private=allow_private)

    return checker


# --- the parameters most endpoints share ---------------------------------------------------

Prompt = Annotated[str, Text(required=True)]
OptionalText = Annotated[str, Text()]
Switch = Annotated[bool, Flag()]
Quality = Annotated[str, OneOf(*QUALITIES)]
FamilyAspect = Annotated[str, OneOf(*FAMILY_ASPECTS)]  # Pixverse 5 family and text2video
FamilyDuration = Annotated[int, OneOf(5, 8)]
# The 5 pages list only "normal" among allowed values but describe "fast" (5 s, below
# 1080p) in the text; accept it, the superset of what the hosted API takes.
MotionMode = Annotated[str, OneOf("normal", "fast")]
Style = Annotated[str, OneOf(*STYLES)]
SpeakerId = Annotated[str, OneOf(*SPEAKER_IDS)]
ImageUrl = Annotated[str, MediaUrl("image")]
VideoUrl = Annotated[str, MediaUrl("video")]

DEFAULT_NEGATIVE_PROMPT = "No sudden movements, no fast zooms."


# --- seeds -------------------------------------------------------------------------------

# Random seeds are drawn from 1..999999 on every endpoint: inside every page's range, so a
# reported seed can be replayed on any endpoint of the family.
RANDOM_SEEDS = (1, 999_999)


def random_seed() -> int:
    lo, hi = RANDOM_SEEDS
    return lo + secrets.randbelow(hi - lo + 1)


# --- rules across fields -------------------------------------------------------------------

RuleCheck = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class Rule:
    """A rule across fields: `check` looks at the normalized params and raises BadRequest
    naming the fields; `schema` says the same in JSON Schema, for the OpenAPI document."""

    check: RuleCheck
    schema: tuple[JsonSchemaValue, ...]

    def __call__(self, params: Mapping[str, Any]) -> None:
        self.check(params)


def rule(*schema: JsonSchemaValue) -> Callable[[RuleCheck], Rule]:
    """Decorator: the function as a `Rule` whose JSON Schema is `schema`."""
    return lambda check: Rule(check, schema)


def sent(field: str, schema: JsonSchemaValue | None = None) -> JsonSchemaValue:
    """JSON Schema of "`field` is sent (not null), matching `schema`"; a field not sent takes
    its default."""
    return {"required": [field], "properties": {field: schema or {"not": {"type": "null"}}}}


FIVE = {"enum": [5, None]}  # a duration of 5, or null: not given, so the default, 5


@rule(
    {
        "if": sent("motion_mode", {"const": "fast"}),
        "then": {"properties": {"duration": FIVE, "quality": {"not": {"const": "1080p"}}}},
    },
    {"if": sent("quality", {"const": "1080p"}), "then": {"properties": {"duration": FIVE}}},
)
def motion_rules(params: Mapping[str, Any]) -> None:
    """Pixverse 5 family and text2video: fast only at 5 s and below 1080p; 8 s not at 1080p."""
    duration, motion, quality = params["duration"], params["motion_mode"], params["quality"]
    if motion == "fast" and duration != 5:
        raise BadRequest(
            f"motion_mode: 'fast' is only allowed with duration 5 (got duration {duration})"
        )
    if motion == "fast" and quality == "1080p":
        raise BadRequest("quality: 'fast' motion is not available at 1080p; use 360p, 540p or 720p")
    if duration != 5 and quality == "1080p":
        raise BadRequest(f"duration: only 5 is allowed at 1080p quality (got {duration})")


@rule(
    {
        "if": sent("lip_sync_switch", {"const": True}),
        "then": sent("lip_sync_tts_content", {"type": "string", "pattern": NOT_BLANK}),
    }
)
def lip_sync_rules(params: Mapping[str, Any]) -> None:
    """Lip sync needs something to say."""
    if params["lip_sync_switch"] and not params["lip_sync_tts_content"]:
        raise BadRequest("lip_sync_tts_content: required when lip_sync_switch is true")
