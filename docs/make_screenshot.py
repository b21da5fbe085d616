"""Regenerate docs/debugger.png: the debugger page after unlocking a frame's console.

Run with the venv: `.venv/bin/python docs/make_screenshot.py`. Needs Debian's
`chromium` and the `playwright` package (it drives /usr/bin/chromium directly).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from treadle.dev.debugger import DebuggedApplication
from treadle.serving import make_server

PIN = "123-456-789"
OUT = Path(__file__).resolve().parent / "debugger.png"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def checkout(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    basket = {"apples": 3, "pears": 2}
    payload = '{"coupon": "SPRING",}'
    try:
        order = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"order payload is not valid JSON ({len(basket)} items)") from exc
    return [json.dumps(order).encode()]


def main() -> None:
    os.environ["TREADLE_DEBUG_PIN"] = PIN
    app = DebuggedApplication(checkout, evalex=True, pin_logging=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 800}, device_scale_factor=1)
            page.set_default_timeout(10_000)
            page.goto(f"http://127.0.0.1:{server.port}/checkout")
            frame = page.locator(".frame", has=page.locator("code.function", has_text="checkout")).last
            frame.locator(".console-toggle").click()
            page.locator(".pin-dialog input[name=pin]").fill(PIN)
            page.locator(".pin-dialog input[name=pin]").press("Enter")
            line = frame.locator(".console-input")
            for text in ("basket", "payload[-2:]", "sum(basket.values())"):
                line.fill(text)
                line.press("Enter")
            frame.locator(".console-output").get_by_text("5", exact=False).last.wait_for()
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
