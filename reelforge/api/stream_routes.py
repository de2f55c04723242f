"""Watching a request live: GET /v2/requests/{id}/stream (server-sent events)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
