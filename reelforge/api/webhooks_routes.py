"""Webhooks: GET/POST /v1/webhooks/secret (an account's), GET /v2/requests/{id}/webhooks."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
