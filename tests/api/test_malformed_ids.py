"""An id that cannot be one is as unknown as a missing one: the same 404 (400 for a list's
`after`), never a 500, on SQLite and on PostgreSQL, whose text columns refuse a NUL with
an error (issue 21: ten routes answered 500 with a traceback)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.inprocess import ADMIN_KEY

NUL = "%00"
MALFORMED = [NUL, "a%00b", "x" * 300, "00000000-0000-0000-0000-00000000000%00"]

# (method, path, body, what an unknown id answers)
ROUTES = [
    ("GET", "/v2/requests/{id}", None, 404),
    ("GET", "/v2/requests/{id}/status", None, 404),
    ("GET", "/v2/requests/{id}/stream", None, 404),
    ("GET", "/v2/requests/{id}/webhooks", None, 404),
    ("POST", "/v2/requests/{id}/cancel", None, 404),
    ("POST", "/v2/requests/{id}/replay", None, 404),
    ("GET", "/v1/requests/{id}", None, 404),
    ("GET", "/v1/requests?after={id}", None, 400),
    ("GET", "/v1/videos/{id}", None, 404),
    ("GET", "/v1/videos?after={id}", None, 400),
    ("DELETE", "/v1/admin/keys/{id}", None, 404),
    ("POST", "/v1/admin/accounts/{id}/credits", {"credits": 5}, 404),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, app_with_worker) -> Any:
    settings: dict[str, Any] = {}
    if request.param == "postgresql":
        settings["database_url"] = request.getfixturevalue("pg_schema_url")
    return app_with_worker(engine=None, **settings).client


@pytest.mark.parametrize(("method", "path", "body", "unknown"), ROUTES)
def test_a_malformed_id_answers_like_an_unknown_one(client, method, path, body, unknown) -> None:
    headers = {"x-api-key": ADMIN_KEY, "Authorization": f"Bearer {ADMIN_KEY}"}
    unknown_id = "0b7a3c1e-9f0d-4d2b-8c55-3a1f2e4d5c6b"
    expected = client.request(method, path.format(id=unknown_id), headers=headers, json=body)
    assert expected.status_code == unknown, expected.text
    for bad in MALFORMED:
        answer = client.request(method, path.format(id=bad), headers=headers, json=body)
        assert answer.status_code == unknown, (bad, answer.text)
        assert answer.json().keys() == expected.json().keys()
