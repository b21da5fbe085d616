"""End to end in headless Chromium: a person opens the error page, unlocks, and evaluates.

Needs Debian's `chromium` package and the `playwright` Python package (no downloaded
browsers: Playwright drives /usr/bin/chromium).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from treadle.dev.debugger import DebuggedApplication

PIN = "271-828-182"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 10_000


def checkout(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    basket = {"apples": 3, "pears": 2}
    payload = '{"coupon": "SPRING",}'
    try:
        order = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"order payload is not valid JSON ({len(basket)} items)") from exc
    return [json.dumps(order).encode()]


@pytest.fixture
def base_url(monkeypatch: pytest.MonkeyPatch, serve: Callable[..., Any]) -> str:
    monkeypatch.setenv("TREADLE_DEBUG_PIN", PIN)
    app = DebuggedApplication(checkout, evalex=True, pin_logging=False)
    return str(serve(app, threaded=True).url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab with no cookies."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_person_unlocks_console_and_evaluates_in_a_frame(page: Page, base_url: str) -> None:
    response = page.goto(base_url + "/checkout")
    assert response is not None and response.status == 500

    expect(page.locator("h1")).to_have_text("ValueError")
    expect(page.locator("header .exc-message")).to_have_text("order payload is not valid JSON (2 items)")
    expect(page.locator(".chain")).to_have_text(
        "The above exception was the direct cause of the following exception:"
    )
    # json's own frames are folded away; the frame that raised stays visible.
    folded = page.locator("details.library-frames").first
    expect(folded.locator("summary")).to_contain_text("2 library frames")
    expect(folded.locator(".frame").first).to_be_hidden()
    expect(page.locator(".frame", has=page.locator("code.function", has_text="raw_decode"))).to_be_visible()

    frame = page.locator(".frame", has=page.locator("code.function", has_text="checkout")).last
    expect(frame.locator(".line.current")).to_contain_text("raise ValueError")
    frame.locator(".console-toggle").click()

    dialog = page.locator(".pin-dialog")
    expect(dialog).to_be_visible()
    pin = dialog.locator("input[name=pin]")
    pin.fill("000-000-000")
    pin.press("Enter")
    expect(dialog.locator(".pin-message")).to_contain_text("Wrong PIN")
    pin.fill(PIN)
    pin.press("Enter")
    expect(dialog).to_be_hidden()

    line = frame.locator(".console-input")
    expect(line).to_be_focused()
    line.fill("sum(basket.values()), payload[-2:]")
    line.press("Enter")
    output = frame.locator(".console-output")
    expect(output).to_have_text(">>> sum(basket.values()), payload[-2:]\n(5, ',}')\n")

    line.fill("for fruit in sorted(basket):")
    line.press("Enter")
    expect(frame.locator(".prompt")).to_have_text("... ")
    line.fill("    print(fruit.upper())")
    line.press("Enter")
    line.fill("")
    line.press("Enter")
    expect(output).to_contain_text("APPLES\nPEARS\n")
    expect(frame.locator(".prompt")).to_have_text(">>> ")


def test_unlocked_browser_skips_the_pin_after_reload(page: Page, base_url: str) -> None:
    page.goto(base_url + "/checkout")
    page.locator(".console-toggle").first.click()
    page.locator(".pin-dialog input[name=pin]").fill(PIN)
    page.locator(".pin-dialog input[name=pin]").press("Enter")
    expect(page.locator(".pin-dialog")).to_be_hidden()

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-unlocked", "yes")
    page.locator(".console-toggle").last.click()
    expect(page.locator(".pin-dialog")).to_be_hidden()
    expect(page.locator(".console-input")).to_be_visible()


def test_plain_text_traceback_is_there_to_copy(page: Page, base_url: str) -> None:
    page.goto(base_url + "/checkout")
    page.locator("details.plain summary").click()
    text = page.locator("details.plain textarea").input_value()
    assert "\njson.decoder.JSONDecodeError: " in text  # its wording changed in 3.13
    assert text.rstrip().endswith("ValueError: order payload is not valid JSON (2 items)")
