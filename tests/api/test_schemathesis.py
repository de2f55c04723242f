"""Fuzz the whole API from its own /openapi.json with schemathesis and every check (the
`--checks all` of the command line), against a real `reelforge serve`, with the admin key:
no 5xx, no status or header the document does not declare, every answer in its documented
schema, valid parameters accepted, invalid ones refused, the key enforced. The run's
settings, and each exception with its reason, are in tests/api/schemathesis.toml."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.support.server import ServerProcess

CONFIG = Path(__file__).with_name("schemathesis.toml")
TINY_ENGINE = "tests.support.tiny_engine:TinyEngine"


@pytest.fixture(scope="module")
def fuzz_server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = serve(
        Path(tmp_path_factory.mktemp("fuzz")),
        REELFORGE_ENGINE=TINY_ENGINE,
        REELFORGE_SYNC_TIMEOUT="60",
        REELFORGE_FETCH_TIMEOUT="5",  # fuzzed input URLs must not hold the worker up
    )
    try:
        yield process.start()
    finally:
        process.stop()


def _schema(server: ServerProcess) -> OpenApiSchema:
    """The server's own document, with the settings of schemathesis.toml and the admin key."""
    config = SchemathesisConfig.from_path(CONFIG)
    if seed := os.environ.get("REELFORGE_FUZZ_SEED"):
        config.update(seed=int(seed), max_failures=None)
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", config=config)
    schema.config.update(base_url=server.base_url, headers=server.headers())
    return schema


def _fuzz(schema: OpenApiSchema) -> tuple[set[str], list[str]]:
    """Run every phase (examples, coverage, fuzzing, stateful) the way the command line does;
    (the operations tested, one line per distinct failure or error)."""
    tested: set[str] = set()
    problems: dict[tuple[str, str], str] = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            tested.add(event.recorder.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    key = (event.recorder.label, f"{failure.code} {failure.title}")
                    problems.setdefault(
                        key, f"{failure.message}\n  {check.failure_info.code_sample}"
                    )
        elif isinstance(event, events.NonFatalError):
            problems[(event.label, "error")] = repr(event.value)
        elif isinstance(event, events.FatalError):
            problems[("engine", "fatal")] = repr(event.exception)
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                problems[(failure.operation or "run", failure.title)] = failure.message
    lines = [f"{where}: {what}\n  {detail}" for (where, what), detail in problems.items()]
    return tested, [*lines, f"(seed {schema.config.seed})"] if lines else []


def test_api_keeps_its_document_under_every_check(fuzz_server: ServerProcess) -> None:
    tested, problems = _fuzz(_schema(fuzz_server))
    assert not problems, "\n\n".join(problems)
    document = httpx.get(f"{fuzz_server.base_url}/openapi.json").json()
    operations = {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item}
    assert len(operations) >= 24
    assert operations <= tested, f"never exercised: {sorted(operations - tested)}"


def test_sync_mp4_answer_keeps_its_document(fuzz_server: ServerProcess) -> None:
    # the fuzzing engine fails all but tiny videos: one that it makes checks the mp4 answer
    # (media type, x-* headers) with every check
    operation = _schema(fuzz_server)["/v1/pixverse-v6"]["POST"]
    case = operation.Case(body={"prompt": "a red ball rolls", "duration": 1, "quality": "360p"})
    response = case.call(headers=fuzz_server.headers(), timeout=90)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ["video/mp4"]
    case.validate_response(response, headers=fuzz_server.headers())


def test_huge_credit_grant_is_a_400_not_a_crash(fuzz_server: ServerProcess) -> None:
    # found by the fuzzer: 1e307 credits used to overflow the ledger's integers (a 500)
    for amount in (-1.1066672107229292e307, 1e13):
        answer = httpx.post(
            f"{fuzz_server.base_url}/v1/admin/accounts/admin/credits",
            json={"credits": amount},
            headers={"x-api-key": fuzz_server.key},
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"].startswith("credits")
