"""Serving the web playground: GET / is the page, /web/{path} its other files, with their
right media types, no key, `Cache-Control: no-cache` and a Content-Security-Policy that
allows this server alone (and the object store's origin for media, when outputs live
there); nothing outside the static folder is reachable, however the path is spelled."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reelforge.api import web_routes
from reelforge.storage import LocalStorage, ObjectStorage
from tests.support.server import FAKE_ENGINE, ServerProcess

POLICY = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "blob:", "data:"],
    "media-src": ["'self'", "blob:", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.fixture(scope="module")
def web_server(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = serve(Path(tmp_path_factory.mktemp("web")), REELFORGE_ENGINE=FAKE_ENGINE)
    try:
        yield process.start()
    finally:
        process.stop()


def test_the_page_is_served_at_the_root_without_a_key(web_server: ServerProcess) -> None:
    answer = httpx.get(f"{web_server.base_url}/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.text == (web_routes.STATIC / "index.html").read_text()
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert _policy(answer.headers["content-security-policy"]) == POLICY
    assert httpx.head(f"{web_server.base_url}/").status_code == 200
    # not an API operation: absent from the document
    document = httpx.get(f"{web_server.base_url}/openapi.json").json()
    assert "/" not in document["paths"] and not any(p.startswith("/web") for p in document["paths"])


def test_every_static_file_is_served_under_web_with_its_type(web_server: ServerProcess) -> None:
    shipped = sorted(path for path in web_routes.STATIC.iterdir() if path.is_file())
    assert shipped, "the package ships no static files"
    for path in shipped:
        answer = httpx.get(f"{web_server.base_url}/web/{path.name}")
        assert answer.status_code == 200, path.name
        assert answer.content == path.read_bytes(), path.name
        expected = web_routes.MEDIA_TYPES.get(path.suffix, "application/octet-stream")
        assert answer.headers["content-type"] == expected, path.name
        assert answer.headers["cache-control"] == "no-cache", path.name
        assert _policy(answer.headers["content-security-policy"]) == POLICY, path.name
        # a revalidation (what no-cache asks the browser to do) is a 304
        again = httpx.get(
            f"{web_server.base_url}/web/{path.name}",
            headers={"If-None-Match": answer.headers["etag"]},
        )
        assert again.status_code == 304, path.name


@pytest.mark.parametrize(
    "path",
    [
        "/web/../__init__.py",  # reelforge/web/__init__.py, beside the static folder
        "/web/../../api/app.py",
        "/web/%2e%2e/__init__.py",
        "/web/%2E%2E/%2E%2E/api/app.py",
        "/web/..%2f__init__.py",
        "/web/..%5c__init__.py",
        "/web//etc/passwd",
        "/web/%2fetc%2fpasswd",
        "/web/no-such-file.js",
        "/web/",
    ],
)
def test_nothing_outside_the_static_folder_is_served(web_server: ServerProcess, path: str) -> None:
    # http.client sends the path as written (httpx would resolve the dot segments first)
    connection = http.client.HTTPConnection("127.0.0.1", web_server.port, timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    assert answer.status == 404, (path, body)
    assert b"import" not in body and b"root:" not in body


def test_only_get_and_head(web_server: ServerProcess) -> None:
    answer = httpx.post(f"{web_server.base_url}/web/app.js")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD"
    assert answer.json() == {"error": "Method Not Allowed"}
    assert httpx.post(f"{web_server.base_url}/").headers["allow"] == "GET, HEAD"


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "icons").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "app.js").write_text("export const x = 1;\n")
    (root / "app.css").write_text("body { margin: 0 }\n")
    (root / "icons" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (root / "icons" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return root


def test_media_types_are_ours_whatever_the_host_says(static_dir: Path, tmp_path: Path) -> None:
    app = FastAPI()
    web_routes.install(app, LocalStorage(tmp_path / "files"), static_dir)
    client = TestClient(app)
    for path, media_type in (
        ("/web/app.js", "text/javascript; charset=utf-8"),
        ("/web/app.css", "text/css; charset=utf-8"),
        ("/web/icons/logo.svg", "image/svg+xml"),
        ("/web/icons/logo.png", "image/png"),
        ("/web/index.html", "text/html; charset=utf-8"),
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == media_type, path
        assert answer.headers["cache-control"] == "no-cache", path


def test_outputs_on_an_object_store_may_be_shown_from_its_origin_alone(
    static_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # presigned URLs point at the store, another host: <video> and <img> may load from it,
    # nothing else may (no script, style or fetch)
    for name in ("AWS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "reelforge-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "reelforge-test-secret")
    store = ObjectStorage.from_url(
        "s3://videos/outputs", s3_endpoint="http://127.0.0.1:9", s3_region="us-east-1"
    )
    presigned = store.presigned_url("outputs/a/1.mp4", time.time() + 60)
    assert presigned is not None and presigned.startswith("http://127.0.0.1:9/")
    app = FastAPI()
    web_routes.install(app, store, static_dir)
    for path in ("/", "/web/app.js"):
        policy = _policy(TestClient(app).get(path).headers["content-security-policy"])
        for directive in ("img-src", "media-src"):
            assert policy[directive] == [*POLICY[directive], "http://127.0.0.1:9"], path
        assert {**policy, "img-src": POLICY["img-src"], "media-src": POLICY["media-src"]} == POLICY
