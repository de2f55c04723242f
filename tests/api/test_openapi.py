"""The facts of /openapi.json a client generator or form builder relies on, read straight
from the app (no server, no fuzzing; tests/api/test_schemathesis.py holds the server to it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reelforge import endpoints
from reelforge.api.app import create_app
from reelforge.errors import BadRequest
from reelforge.settings import Settings

FAILED_ANSWERS = {  # the operations that serve a FAILED request as 422 with its body
    ("get", "/v2/requests/{request_id}/status"),
    ("get", "/v2/requests/{request_id}"),
    ("get", "/v1/requests/{request_id}"),
    ("post", "/v2/requests/{request_id}/cancel"),
    *(("post", f"/v1/{slug}") for slug in endpoints.SLUGS),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data_dir = Path(tmp_path_factory.mktemp("openapi"))
    return create_app(Settings(data_dir=data_dir, admin_key="test-admin-key"))


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, p): op for p, item in document["paths"].items() for m, op in item.items()}


def _schema(document: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    name = ref["$ref"].removeprefix("#/components/schemas/")
    return document["components"]["schemas"][name]


def test_the_api_key_is_a_security_scheme_on_every_keyed_operation(document) -> None:
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "An API key (`reelforge keys create`) or the admin key",
    }
    for (method, path), operation in _operations(document).items():
        if path == "/files/{key}":  # a signed URL, no key
            assert operation["security"] == []
        else:
            assert operation["security"] == [{"apiKey": []}], (method, path)
        assert 401 in map(int, operation["responses"]) or path == "/files/{key}"
    assert "/healthz" not in document["paths"]


def test_no_validation_422_and_every_error_is_an_error_body(document) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    for key, operation in _operations(document).items():
        for status, answer in operation["responses"].items():
            if status == "422":
                assert key in FAILED_ANSWERS, key
                assert "FAILED" in str(answer), key
            elif int(status) >= 400 and int(status) != 504:
                schema = answer["content"]["application/json"]["schema"]
                # the OpenAI Videos API answers OpenAI's error body (tests/openai_api)
                name = "OpenAIError" if key[1].startswith("/v1/videos") else "Error"
                assert schema == {"$ref": f"#/components/schemas/{name}"}, (key, status)
    assert schemas["Error"]["properties"]["error"]["type"] == "string"
    assert schemas["Error"]["required"] == ["error"]
    for key in FAILED_ANSWERS:
        assert "422" in _operations(document)[key]["responses"], key


def test_each_model_has_its_paths_and_its_own_parameter_schema(document) -> None:
    assert "/v2/{slug}" not in document["paths"] and "/v1/{slug}" not in document["paths"]
    for slug in endpoints.SLUGS:
        for path in (f"/v2/{slug}", f"/v1/{slug}"):
            body = document["paths"][path]["post"]["requestBody"]
            assert body["required"] is True
            ref = body["content"]["application/json"]["schema"]
            assert ref == {"$ref": f"#/components/schemas/{slug}"}
        schema = document["components"]["schemas"][slug]
        # the order users fill the fields in: the parameter model's
        fields = endpoints.get(slug).params_model.model_fields
        assert list(schema["properties"]) == list(fields)
        assert schema["required"] == ["prompt"] and schema["additionalProperties"] is False
        prompt = schema["properties"]["prompt"]
        assert prompt["type"] == "string" and prompt["minLength"] == 1
        assert prompt["maxLength"] == 5000
        for name, field in schema["properties"].items():
            types = [field.get("type")] + [part.get("type") for part in field.get("anyOf", [])]
            assert set(types) - {None}, f"{slug}.{name} has no JSON type"


def _field(document: dict[str, Any], slug: str, name: str) -> dict[str, Any]:
    schema = document["components"]["schemas"][slug]
    field = schema["properties"][name]
    # an optional field is "anyOf: [<its schema>, null]", with its default beside: a null
    # is "not given" (issue 21: the schemas said otherwise, and the submits took it)
    if name not in schema.get("required", ()):
        assert field["anyOf"][-1] == {"type": "null"}, field
    inner = field.get("anyOf", [{}])[0]
    return {key: value for key, value in {**field, **inner}.items() if key != "anyOf"}


def test_only_the_prompt_is_required_and_null_is_the_default_elsewhere(document) -> None:
    schemas = document["components"]["schemas"]
    for slug in endpoints.SLUGS:
        schema = schemas[slug]
        assert schema["required"] == ["prompt"], slug
        for name, field in schema["properties"].items():
            if name != "prompt":
                assert {"type": "null"} in field["anyOf"], (slug, name)


def test_a_switch_takes_what_the_schema_says_it_takes(document) -> None:
    switch = document["components"]["schemas"]["pixverse-5-video"]["properties"][
        "sound_effect_switch"
    ]
    kinds = [option.get("type") for option in switch["anyOf"]]
    assert kinds == ["boolean", "integer", "string", "null"]
    pattern = re.compile(switch["anyOf"][2]["pattern"])
    endpoint = endpoints.get("pixverse-5-video")
    assert endpoint is not None
    for sent in (True, 0, 1, "true", " False ", "0", None):
        endpoint.validate({"prompt": "x", "sound_effect_switch": sent})  # taken
        assert not isinstance(sent, str) or pattern.fullmatch(sent)
    for sent in ("yes", 2, "tru"):
        with pytest.raises(BadRequest, match="sound_effect_switch"):
            endpoint.validate({"prompt": "x", "sound_effect_switch": sent})
        assert not isinstance(sent, str) or not pattern.fullmatch(sent)


def test_model_schemas_carry_their_enums_defaults_and_ranges(document) -> None:
    duration = _field(document, "pixverse-v6", "duration")
    assert duration == {"type": "integer", "minimum": 1, "maximum": 15, "default": 5,
                        "title": "Duration"}  # fmt: skip
    quality = _field(document, "pixverse-5-video", "quality")
    assert quality["type"] == "string" and quality["default"] == "540p"
    assert quality["enum"] == ["360p", "540p", "720p", "1080p"]
    family = _field(document, "pixverse-text2video", "duration")
    assert family["type"] == "integer" and family["enum"] == [5, 8] and family["default"] == 5
    assert _field(document, "pixverse-v6", "aspect_ratio")["enum"][-1] == "21:9"
    assert _field(document, "pixverse-text2video", "aspect_ratio")["enum"] == [
        "16:9", "4:3", "1:1", "3:4", "9:16"
    ]  # fmt: skip
    seed = _field(document, "pixverse-5-transition", "seed")
    assert (seed["minimum"], seed["maximum"], seed["default"]) == (1, 999_999, 12345)
    assert _field(document, "pixverse-v6", "seed")["default"] is None
    switch = _field(document, "pixverse-5-video", "sound_effect_switch")
    assert switch["type"] == "boolean" and switch["default"] is True
    image = _field(document, "pixverse-5-video", "image_url")
    assert image["type"] == "string" and image["format"] == "uri"
    speaker = _field(document, "pixverse-5-video", "lip_sync_tts_speaker_id")
    assert speaker["type"] == "string" and "auto" in speaker["enum"]
    thinking = _field(document, "pixverse-v6", "thinking_type")
    assert thinking["enum"] == ["enabled", "disabled", "auto"] and thinking["default"] == "auto"


def test_rules_across_fields_are_in_the_schema(document) -> None:
    schemas = document["components"]["schemas"]
    assert "allOf" not in schemas["pixverse-v6"]  # v6 documents none
    motion = str(schemas["pixverse-5-video"]["allOf"])
    assert "'fast'" in motion and "'1080p'" in motion and "lip_sync_tts_content" in motion
    assert {"required": ["video_url"], "properties": {"video_url": {"not": {"type": "null"}}}} in (
        schemas["pixverse-5-extend"]["allOf"]
    )


def test_statuses_each_operation_answers(document) -> None:
    operations = _operations(document)
    statuses = {key: set(map(int, op["responses"])) for key, op in operations.items()}
    keyed = {401, 429, 503, 507}
    for slug in endpoints.SLUGS:
        submit = {200, 400, 401, 403, 406, 409, 413, 429, 503, 507}
        assert statuses[("post", f"/v2/{slug}")] == submit
        assert statuses[("post", f"/v1/{slug}")] == submit | {404, 422, 504}
        answer = operations[("post", f"/v1/{slug}")]["responses"]["200"]
        assert answer["content"] == {
            "video/mp4": {"schema": {"type": "string", "format": "binary"}}
        }
        assert {"x-request-id", "x-seed-value", "x-cost"} <= set(answer["headers"])
        queued = operations[("post", f"/v2/{slug}")]["responses"]["200"]
        assert queued["content"]["application/json"]["schema"]["$ref"].endswith("/Submitted")
    for key in FAILED_ANSWERS - {("post", f"/v1/{slug}") for slug in endpoints.SLUGS}:
        assert statuses[key] == {200, 404, 422} | keyed, key
    assert statuses[("get", "/v1/admin/status")] == {200, 403} | keyed
    assert statuses[("post", "/v1/admin/keys")] == {200, 400, 403, 409, 413} | keyed
    assert statuses[("get", "/files/{key}")] == {200, 400, 403, 404, 503}
    assert statuses[("post", "/v1/files")] == {200, 400, 413} | keyed
    assert set(operations[("post", "/v1/files")]["requestBody"]["content"]) == {
        "application/json", "multipart/form-data"
    }  # fmt: skip


def test_answer_bodies_are_described(document) -> None:
    schemas = document["components"]["schemas"]
    submitted = schemas["Submitted"]
    assert submitted["required"] == [
        "request_id", "status", "poll_url", "status_url", "response_url"
    ]  # fmt: skip
    assert submitted["properties"]["status"]["const"] == "QUEUED"
    status = schemas["RequestStatus"]["properties"]["status"]
    assert status["enum"] == ["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]
    assert "output" not in schemas["RequestStatus"]["properties"]
    result = schemas["RequestResult"]["properties"]
    assert result["metrics"] == {"$ref": "#/components/schemas/Metrics"}
    assert set(schemas["Metrics"]["required"]) == {
        "inference_time", "queue_time", "total_time", "cost", "remaining_credits"
    }  # fmt: skip
    assert set(schemas["UserCredits"]["properties"]) == {"credits", "free-credits"}
    for name in ("FleetStatus", "IssuedKey", "KeyList", "AccountList", "Uploaded"):
        assert schemas[name]["type"] == "object", name


def test_a_wrong_method_is_a_405_naming_every_method_of_the_path(app: FastAPI) -> None:
    client = TestClient(app)  # no lifespan: routing and error answers only
    for method, path, allow in (
        ("DELETE", "/v1/admin/keys", "GET, POST"),  # two routes: Starlette named one
        ("POST", "/v1/get-user-credits", "GET"),  # not a model called get-user-credits
        ("GET", "/v2/pixverse-v6", "POST"),
        ("PUT", "/v2/requests/some-id", "GET"),
    ):
        answer = client.request(method, path, headers={"x-api-key": "test-admin-key"})
        assert answer.status_code == 405, (method, path, answer.text)
        assert answer.headers["allow"] == allow, (method, path)
        assert answer.json() == {"error": "Method Not Allowed"}
    unknown = client.post("/v1/no-such-model", headers={"x-api-key": "test-admin-key"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "Model no-such-model not found"
