"""Admin inputs within bounds: every number and text the admin API stores has a documented
limit, and past it the answer is a 400 naming the field and the limit (never a 500 from
the database, never a balance that stops being exact), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from reelforge.accounts import credits, keys
from reelforge.errors import BadRequest, InsufficientCredits
from reelforge.jobs import billing
from reelforge.jobs.schema import accounts
from tests.accounts import conftest as accounts_fixtures
from tests.accounts.conftest import issue_key

# the accounts fixtures, on SQLite and on PostgreSQL
backend = accounts_fixtures.backend
start_server = accounts_fixtures.start_server
queue_db = accounts_fixtures.queue_db

MAX = 100_000_000_000  # credits an account may hold (README: Accounts)


def _names(message: str, number: str) -> bool:
    """`number` appears in `message` as a whole number (not inside a longer one)."""
    return re.search(rf"(?<![\d.]){number}(?![\d])", message) is not None


def _admin(server: Any, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{server.base_url}/v1/admin{path}", json=body,
                         headers=server.headers(), timeout=30)  # fmt: skip


OUT_OF_RANGE = [  # (body, the field named, the limit named)
    ({"rate_limit": 9223372036854775808}, "rate_limit", "1000000"),
    ({"rate_limit": 10**40}, "rate_limit", "1000000"),
    ({"rate_limit": -1}, "rate_limit", "0"),
    ({"credits": 1e300}, "credits", str(MAX)),
    ({"credits": MAX + 1}, "credits", str(MAX)),
    ({"name": "n" * 129}, "name", "128"),
    ({"account": "a" * 65}, "account", "64"),
]


def test_out_of_range_key_fields_are_400_naming_the_field_and_limit(start_server: Any) -> None:
    server = start_server()
    for body, field, limit in OUT_OF_RANGE:
        answer = _admin(server, "POST", "/keys", {"name": "bounded", **body})
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"].startswith(field), answer.json()
        assert _names(answer.json()["error"], limit), answer.json()
    listed = _admin(server, "GET", "/keys").json()["keys"]
    assert not [key for key in listed if key["name"] == "bounded" or len(key["name"]) > 128]


def test_grants_stop_at_the_maximum_balance_which_stays_exact(
    backend: Any, start_server: Any
) -> None:
    server = start_server()
    key = issue_key(server, name="rich", credits=MAX - 1)
    grant = "/accounts/rich/credits"
    for amount in (1e12, 1e12, 1.0001, 2):  # each would pass the maximum
        answer = _admin(server, "POST", grant, {"credits": amount})
        assert answer.status_code == 400, answer.text
        message = answer.json()["error"]
        assert message.startswith("credits") and _names(message, str(MAX)), message
    answer = _admin(server, "POST", grant, {"credits": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["balance"] == MAX
    assert _admin(server, "POST", grant, {"credits": 0.0001}).status_code == 400
    assert _admin(server, "POST", grant, {"credits": 1, "note": "n" * 256}).status_code == 400
    db = backend.db()
    try:
        with db.begin() as conn:
            stored = conn.execute(select(accounts.c.balance).where(accounts.c.id == "rich"))
            balance = stored.scalar_one()
    finally:
        db.dispose()
    assert type(balance) is int and balance == MAX * billing.UNITS_PER_CREDIT
    credits_now = httpx.get(f"{server.base_url}/v1/get-user-credits",
                            headers={"x-api-key": key}).json()  # fmt: skip
    assert credits_now["credits"] == MAX


def test_library_bounds(queue_db: Engine) -> None:
    """The same limits hold for the CLI, which calls the library directly."""
    with pytest.raises(BadRequest, match="rate_limit"):
        keys.issue(queue_db, name="k1", rate_limit=2**63)
    with pytest.raises(BadRequest, match="name"):
        keys.issue(queue_db, name="k" * 129)
    with pytest.raises(BadRequest, match=str(MAX)):
        keys.issue(queue_db, name="k2", opening_credits=MAX + 1)
    keys.issue(queue_db, name="k3", opening_credits=MAX)
    with pytest.raises(BadRequest, match=str(MAX)):
        credits.grant(queue_db, "k3", 0.0001)
    with pytest.raises(BadRequest, match="note"):
        credits.grant(queue_db, "k3", -1, note="n" * 256)
    assert credits.grant(queue_db, "k3", -MAX).available == 0
    with queue_db.begin() as conn, pytest.raises(InsufficientCredits, match="at most"):
        billing.hold(conn, "admin", billing.MAX_UNITS + 1)  # admin: unlimited


def test_text_a_database_cannot_store_is_400_naming_the_field(start_server: Any) -> None:
    """PostgreSQL refuses NUL in text and every database refuses unpaired surrogates: a
    key's name or a grant's note holding one is the caller's mistake (400), not a 500."""
    server = start_server()
    made = _admin(server, "POST", "/keys", {"name": "texts", "credits": 5})
    assert made.status_code == 200, made.text
    for field, body in (
        ("name", {"name": "nul\x00name", "account": "texts"}),
        ("name", {"name": "half \ud800 surrogate", "account": "texts"}),
    ):
        answer = _post_raw(server, "/keys", body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"].startswith(field), answer.json()
    for note in ("nul\x00note", "half \ud800 surrogate"):
        answer = _post_raw(server, "/accounts/texts/credits", {"credits": 1, "note": note})
        assert answer.status_code == 400, (note, answer.text)
        assert answer.json()["error"].startswith("note"), answer.json()
    # nothing was stored by the refused calls
    assert _admin(server, "GET", "/accounts").json()["accounts"]
    balance = [a for a in _admin(server, "GET", "/accounts").json()["accounts"]
               if a["account"] == "texts"][0]  # fmt: skip
    assert balance["balance"] == 5


def _post_raw(server: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST JSON as a client may send it: NUL as \\u0000, a lone surrogate as \\ud800
    (which httpx's own json= encoder would refuse to send)."""
    headers = {**server.headers(), "content-type": "application/json"}
    content = json.dumps(body).encode()
    return httpx.post(f"{server.base_url}/v1/admin{path}", headers=headers, content=content,
                      timeout=30)  # fmt: skip
