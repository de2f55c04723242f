"""The web playground in a real browser: Debian's Chromium, driven by Playwright, against
a real `reelforge serve` on the fake engine (slowed to 0.3 s a step, so that progress is
seen). One user's visit, step by step: a wrong key, then signing in; a pixverse-v6 video
watched to the end and played; an uploaded image for pixverse-5-video; a job cancelled;
the history; the Python snippet; a cross-field rule. All along, no request leaves the
server and the console stays free of errors.

Never a browser downloaded by a driver: `scripts/test` installs Debian's `chromium`.
Where it could not (no root, no apt, the package cannot be had), or without the playwright
package (a dev dependency, so a broken install), the test is skipped saying so, and fails
on CI (tests/support/environment.py).
"""

from __future__ import annotations

import ast
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.support.environment import unavailable
from tests.support.server import FAKE_ENGINE, REPO, ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium calls hosts this machine cannot reach
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KEY = "test-admin-key"
PROMPT = "a red fox in the snow"
TIMEOUT_MS = 30_000


def _require_browser() -> Any:
    """playwright.sync_api, or skip saying what is missing (fail on CI)."""
    try:
        from playwright import sync_api
    except ImportError:
        unavailable("the playwright package is missing: .venv/bin/pip install -e '.[engine,dev]'")
    if not CHROMIUM.is_file():
        unavailable(
            f"Debian's Chromium is not at {CHROMIUM} and scripts/test could not install it "
            "(apt-get install chromium needs root and Debian's package lists)"
        )
    return sync_api


class Watcher:
    """What the page did: every request it made, and every console error or uncaught
    exception, except the line Chromium logs for each refusal the visit asks for on
    purpose (`REFUSALS`: a wrong key, a URL the server refuses), counted in `refused`."""

    REFUSALS = {401: "/v1/get-user-credits", 400: "/v2/pixverse-5-video"}

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.errors: list[str] = []
        self.refused: dict[int, int] = {}

    def request(self, request: Any) -> None:
        self.urls.append(request.url)

    def console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        for status, path in self.REFUSALS.items():
            if f"status of {status}" in message.text and url.endswith(path):
                self.refused[status] = self.refused.get(status, 0) + 1
                return
        self.errors.append(f"console: {message.text} ({message.location})")

    def page_error(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture(scope="module")
def playground(serve, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = serve(
        tmp_path_factory.mktemp("playground"),
        key=KEY,
        REELFORGE_ENGINE=FAKE_ENGINE,
        REELFORGE_FAKE_STEP_SECONDS="0.3",
    )
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def browser_page(playground: ServerProcess) -> Iterator[tuple[Any, Watcher]]:
    """A tab of Debian's Chromium (headless) on the playground, and what it did."""
    sync_api = _require_browser()
    watcher = Watcher()
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 800}, color_scheme="light"
            )
            context.grant_permissions(
                ["clipboard-read", "clipboard-write"], origin=playground.base_url
            )
            context.set_default_timeout(TIMEOUT_MS)
            tab = context.new_page()
            tab.on("request", watcher.request)
            tab.on("console", watcher.console)
            tab.on("pageerror", watcher.page_error)
            yield tab, watcher
            context.close()
        finally:
            browser.close()


# --- steps -------------------------------------------------------------------------


def _sign_in(page: Any, watcher: Watcher) -> None:
    page.wait_for_selector("#api-key:focus")
    page.fill("#api-key", "not-a-key")
    page.press("#api-key", "Enter")  # the keyboard alone signs in
    error = page.wait_for_selector("#signin-error:not([hidden])")
    assert "Wrong key" in error.text_content()
    assert page.is_hidden("#app")
    page.fill("#api-key", KEY)
    page.press("#api-key", "Enter")
    page.wait_for_selector("#app:not([hidden])")
    assert page.text_content("#credits") == "unlimited"  # the admin account
    assert page.evaluate("() => localStorage.getItem('reelforge.apiKey')") == KEY


def _choose(page: Any, slug: str) -> None:
    page.click(f"#models button[data-model='{slug}']")
    assert page.get_attribute(f"#models button[data-model='{slug}']", "aria-pressed") == "true"
    page.wait_for_selector(f"#model-form [data-model='{slug}']:not([hidden])")


def _run_status(page: Any) -> str:
    return str(page.get_attribute("#run-status", "data-status"))


def _submit(page: Any) -> str:
    """Press Generate; the id of the request the run panel then follows."""
    before = page.text_content("#run-id") if page.is_visible("#run-id") else ""
    page.click("#submit")
    page.wait_for_function(
        "before => { const n = document.getElementById('run-id'); "
        "return !document.getElementById('form-error').hidden "
        "|| (n.offsetParent !== null && n.textContent !== before); }",
        arg=before,
    )
    refused = page.eval_on_selector_all(
        ".field-error, #form-error", "ps => ps.map(p => p.textContent)"
    )
    assert page.is_hidden("#form-error"), [text for text in refused if text]
    return str(page.text_content("#run-id")).removeprefix("request ")


def _watch_to_the_end(page: Any) -> tuple[list[float], set[str]]:
    """The progress bar's values and the lines under it until the request ends."""
    values: list[float] = []
    lines: set[str] = set()
    deadline = time.monotonic() + 30
    while _run_status(page) not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline, "the request did not end in 30 s"
        values.append(page.eval_on_selector("#run-progress", "bar => bar.value"))
        lines.add(page.text_content("#run-detail"))
        time.sleep(0.05)
    values.append(page.eval_on_selector("#run-progress", "bar => bar.value"))
    return values, lines


def _played(page: Any) -> float:
    """The output's duration once the <video> can show a frame (readyState >= 2)."""
    page.wait_for_function("() => document.getElementById('run-video').readyState >= 2")
    return float(page.eval_on_selector("#run-video", "video => video.duration"))


def _v6_video(page: Any) -> str:
    _choose(page, "pixverse-v6")
    page.fill("#f-pixverse-v6-prompt", PROMPT)
    page.fill("#f-pixverse-v6-duration", "2")
    page.select_option("#f-pixverse-v6-quality", "360p")
    request_id = _submit(page)
    values, lines = _watch_to_the_end(page)
    assert _run_status(page) == "COMPLETED", page.text_content("#run-error")
    assert any(line.startswith("denoising") and "step " in line for line in lines), lines
    assert values == sorted(values), f"the progress bar went back: {values}"
    assert len({v for v in values if 0 < v < 1}) >= 3, f"no progress seen: {values}"
    assert values[-1] == 1
    assert _played(page) == pytest.approx(2, abs=0.1)
    facts = page.text_content("#run-facts")
    assert "640×360" in facts and "Seed" in facts and "Cost" in facts
    assert page.get_attribute("#run-download", "href") == page.get_attribute("#run-video", "src")
    return request_id


def _image_to_video(page: Any, image: Path) -> str:
    slug = "pixverse-5-video"
    _choose(page, slug)
    page.fill(f"#f-{slug}-prompt", "the fox walks away")
    page.select_option(f"#f-{slug}-quality", "360p")
    field = f"[data-model='{slug}'] [data-field='image_url']"
    # a URL only the server can refuse: its 400 is shown at the field it names
    page.fill(f"#f-{slug}-image_url", "https://exa$mple/fox.png")
    page.click("#submit")
    error = page.wait_for_selector(f"{field} .field-error:not(:empty)")
    assert error.text_content().startswith("image_url: malformed URL")
    assert page.evaluate("() => document.activeElement.id") == f"f-{slug}-image_url"
    page.fill(f"#f-{slug}-image_url", "")
    assert error.text_content() == ""
    page.set_input_files(f"{field} input[type=file]", str(image))
    page.wait_for_function(
        "field => document.querySelector(field + ' .media-status').textContent"
        ".startsWith('Uploaded')",
        arg=field,
    )
    preview = page.wait_for_selector(f"{field} img[data-preview-for='image_url']")
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=preview)
    uploaded = page.input_value(f"#f-{slug}-image_url")
    assert uploaded.startswith(page.url.rstrip("/") + "/files/"), uploaded
    request_id = _submit(page)
    _watch_to_the_end(page)
    assert _run_status(page) == "COMPLETED", page.text_content("#run-error")
    assert _played(page) == pytest.approx(5, abs=0.1)
    return request_id


def _cancelled(page: Any) -> str:
    _choose(page, "pixverse-v6")  # its form kept the values of the first run
    request_id = _submit(page)
    page.wait_for_selector("#run-status[data-status='PROCESSING']")
    # the first run measured this size: the server now gives an ETA
    page.wait_for_function(
        "() => / s left$/.test(document.getElementById('run-detail').textContent)"
    )
    page.click("#cancel")
    page.wait_for_selector("#run-status[data-status='FAILED']")
    assert "cancelled by request" in page.text_content("#run-error")
    assert page.is_hidden("#run-result")
    return request_id


def _history(page: Any, completed: list[str], failed: str) -> None:
    page.click("#history-refresh")
    item = "#history li[data-request-id='{}']"
    page.wait_for_selector(item.format(failed) + "[data-status='FAILED']")
    for request_id in completed:
        # by selector, not element handle: the list may be drawn again meanwhile (the
        # stream's end refreshes it), which detaches a handle taken before
        thumbnail = item.format(request_id) + "[data-status='COMPLETED'] img.thumb"
        page.wait_for_function(
            "sel => { const img = document.querySelector(sel);"
            " return img !== null && img.complete && img.naturalWidth > 0; }",
            arg=thumbnail,
        )
    ids = page.eval_on_selector_all("#history li", "rows => rows.map(r => r.dataset.requestId)")
    assert ids[:3] == [failed, *reversed(completed)]  # newest first
    # one click reopens the first video...
    page.click(item.format(completed[0]) + " .history-open")
    page.wait_for_selector("#run-status[data-status='COMPLETED']")
    assert page.text_content("#run-id") == f"request {completed[0]}"
    assert _played(page) == pytest.approx(2, abs=0.1)
    # ...another puts the image job's parameters back into its form
    page.click(item.format(completed[1]) + " .history-reuse")
    assert page.get_attribute("#models [data-model='pixverse-5-video']", "aria-pressed") == "true"
    assert page.input_value("#f-pixverse-5-video-prompt") == "the fox walks away"
    assert page.input_value("#f-pixverse-5-video-quality") == "360p"


def _python_snippet(page: Any, server: ServerProcess) -> None:
    _choose(page, "pixverse-v6")
    page.click("button[data-copy='code-python']")
    page.locator("button[data-copy='code-python']", has_text="Copied").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.text_content("#code-python")
    assert KEY not in copied and 'os.environ["REELFORGE_API_KEY"]' in copied
    calls = {
        getattr(node.func, "attr", getattr(node.func, "id", "")): node
        for node in ast.walk(ast.parse(copied))
        if isinstance(node, ast.Call)
    }
    client = calls["SegmindClient"]
    settings = {k.arg: ast.literal_eval(k.value) for k in client.keywords if k.arg != "api_key"}
    assert settings == {"base_url": f"{server.base_url}/v1", "timeout": 600}
    submit = calls["submit_async"]
    assert [ast.literal_eval(arg) for arg in submit.args] == ["pixverse-v6"]
    params = {k.arg: ast.literal_eval(k.value) for k in submit.keywords}
    assert params == {"prompt": PROMPT, "duration": 2, "quality": "360p"}
    assert "wait" in calls
    curl = page.text_content("#code-curl")
    assert curl.startswith(f"curl -X POST {server.base_url}/v2/pixverse-v6")
    assert "$REELFORGE_API_KEY" in curl and KEY not in curl


def _cross_field_rule(page: Any, watcher: Watcher) -> None:
    slug = "pixverse-text2video"
    _choose(page, slug)
    page.fill(f"#f-{slug}-prompt", "waves at dusk")
    page.select_option(f"#f-{slug}-quality", "1080p")
    page.select_option(f"#f-{slug}-duration", "8")
    message = page.text_content(f"[data-model='{slug}'] [data-field='duration'] .field-error")
    assert message == "Duration must be 5 when quality is 1080p."
    posts = len(watcher.urls)
    page.click("#submit")
    page.wait_for_selector("#form-error:not([hidden])")
    assert page.evaluate("() => document.activeElement.id") == f"f-{slug}-duration"
    assert not any(url.endswith(f"/v2/{slug}") for url in watcher.urls[posts:])
    page.select_option(f"#f-{slug}-duration", "5")
    assert page.text_content(f"[data-model='{slug}'] [data-field='duration'] .field-error") == ""
    # the die draws a seed in range, and the code says it
    page.click(f"[data-model='{slug}'] [data-field='seed'] button.dice")
    seed = int(page.input_value(f"#f-{slug}-seed"))
    assert 0 <= seed <= 2147483647
    assert f"    seed={seed},\n" in page.text_content("#code-python")


def _screenshots(page: Any, folder: Path) -> None:
    """Desktop and phone, each at 800 px high; the desktop one becomes docs/playground.png
    with REELFORGE_SAVE_SCREENSHOTS set. At phone width nothing is wider than the screen."""
    _choose(page, "pixverse-v6")
    page.evaluate("() => window.scrollTo(0, 0)")
    # HAVE_ENOUGH_DATA: the player shows the frame, not its loading spinner
    page.wait_for_function("() => document.getElementById('run-video').readyState === 4")
    page.wait_for_timeout(1500)  # the player's loading spinner fades out
    page.screenshot(path=str(folder / "playground-1280.png"))
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(folder / "playground-375.png"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1280, "height": 800})
    if os.environ.get("REELFORGE_SAVE_SCREENSHOTS"):
        shutil.copyfile(folder / "playground-1280.png", REPO / "docs" / "playground.png")


def test_a_visit_to_the_playground(
    browser_page: tuple[Any, Watcher], playground: ServerProcess, tmp_path: Path
) -> None:
    tab, watcher = browser_page
    image = tmp_path / "fox.png"
    Image.new("RGB", (64, 36), (200, 80, 20)).save(image)
    # 1. The page and a sign-in, after a wrong key
    tab.goto(playground.base_url + "/")
    _sign_in(tab, watcher)
    # 2. A pixverse-v6 video: progress, then played with the requested duration
    first = _v6_video(tab)
    # 3. An uploaded image, previewed, for pixverse-5-video
    second = _image_to_video(tab, image)
    # 4. A job cancelled while it runs
    third = _cancelled(tab)
    # 5. All three in the history; reopen one, reuse another's parameters
    _history(tab, [first, second], third)
    _screenshots(tab, tmp_path)
    # 6. The Python snippet for the current form names the model and its parameters
    _python_snippet(tab, playground)
    # 7. A cross-field rule, shown at its field as the user chooses
    _cross_field_rule(tab, watcher)
    # 8. Forget the key: signed out, and the browser keeps nothing
    tab.click("#forget-key")
    tab.wait_for_selector("#signin:not([hidden])")
    assert tab.is_hidden("#app")
    assert tab.evaluate("() => localStorage.getItem('reelforge.apiKey')") is None
    # 9. Nothing but this server was asked for anything; the console stayed clean
    server = urlsplit(playground.base_url).netloc
    foreign = [u for u in watcher.urls if urlsplit(u).scheme not in ("blob", "data")]
    foreign = [u for u in foreign if urlsplit(u).netloc != server]
    assert foreign == []
    assert watcher.errors == []
    assert watcher.refused == {401: 1, 400: 1}


def test_a_dropped_stream_is_resumed_with_last_event_id(
    browser_page: tuple[Any, Watcher], playground: ServerProcess
) -> None:
    tab, watcher = browser_page
    # the first connection is cut after one event (CRLF frames, a comment, a retry hint)
    frame = 'data: {"status": "QUEUED", "stage": "queued", "progress": 0}'
    cut = f": ping\r\nretry: 100\r\nid: 0-cut\r\nevent: status\r\n{frame}\r\n\r\n"
    last_event_ids: list[str | None] = []

    def stream(route: Any) -> None:
        last_event_ids.append(route.request.headers.get("last-event-id"))
        if len(last_event_ids) == 1:
            route.fulfill(status=200, content_type="text/event-stream", body=cut)
        else:
            route.continue_()

    tab.route("**/v2/requests/*/stream", stream)
    tab.goto(playground.base_url + "/")
    tab.fill("#api-key", KEY)
    tab.press("#api-key", "Enter")
    _choose(tab, "pixverse-v6")
    tab.fill("#f-pixverse-v6-prompt", "a fox, again")
    tab.fill("#f-pixverse-v6-duration", "1")
    tab.select_option("#f-pixverse-v6-quality", "360p")
    _submit(tab)
    tab.wait_for_selector("#run-status[data-status='COMPLETED']")
    assert last_event_ids == [None, "0-cut"]
    assert _played(tab) == pytest.approx(1, abs=0.1)
    assert watcher.errors == []
