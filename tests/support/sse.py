"""Reading a text/event-stream the plain way (httpx and the line format of the HTML
standard), so the tests see exactly the bytes a client does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    event: str  # "message" when the server named none
    id: str | None
    data: str
    received: float  # time.monotonic() when its blank line arrived

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.data)


def events(response: httpx.Response) -> Iterator[Event]:
    """The events of a streaming response, as they arrive (comments skipped)."""
    import time

    name, event_id, data = "message", None, []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield Event(name, event_id, "\n".join(data), time.monotonic())
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value


def comments(response: httpx.Response) -> Iterator[str]:
    """Only the comment lines of a streaming response (keep-alives)."""
    for line in response.iter_lines():
        if line.startswith(":"):
            yield line
