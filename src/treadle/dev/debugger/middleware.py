"""DebuggedApplication: WSGI middleware that turns an app's exception into a traceback page.

It also answers the page's own requests (`?__debugger__=yes&cmd=...&s=<secret>`): static
files, PIN entry, and console commands. A command is refused unless it carries this
process's secret, comes to a local or trusted Host, and (for code) a PIN cookie is valid.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from html import escape
from importlib import resources
from typing import Any, TextIO
from urllib.parse import parse_qs

from treadle.dev.debugger.console import Console, FrameRegistry
from treadle.dev.debugger.hosts import host_is_trusted
from treadle.dev.debugger.pin import DebugPin, PinGuard, pin_for_app
from treadle.dev.debugger.render import (
    PageState,
    render_console_page,
    render_notice_page,
    render_traceback_page,
)
from treadle.dev.debugger.tbtools import Traceback

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]

#: Environ key of a callable the app may call with a context manager (e.g. its request
#: context); each is re-entered around every console command run in that request's frames.
PRESERVE_CONTEXT_KEY = "treadle.preserve_context"

#: Files the page loads, and their types.
STATIC_FILES = {
    "debugger.js": "text/javascript; charset=utf-8",
    "debugger.css": "text/css; charset=utf-8",
}

SECURITY_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
]
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
    " img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)

REFUSALS = {
    "secret": "Wrong or missing debugger secret. Reload the error page and try again.",
    "evalex": "The interactive console is off. Start the server with use_evalex=True to use it.",
    "processes": (
        "The interactive console is off because this server runs {processes} worker processes:"
        " a console lives in the one process that caught the exception. Run with processes=1."
    ),
    "host": (
        "The interactive console only answers requests to localhost, 127.0.0.1, ::1 or"
        " *.localhost (this one was for {host!r}). Add the host to trusted_hosts to allow it."
    ),
    "pin": "The console is locked: enter the PIN printed in the server's terminal first.",
    "locked": (
        "The console is locked after too many wrong PINs. Restart the server to try again."
    ),
}

log = logging.getLogger("treadle.debugger")


def announce(message: str) -> None:
    """Tell the person at the server's terminal (the PIN must reach them even unconfigured)."""
    if log.isEnabledFor(logging.INFO) and log.hasHandlers():
        log.info(message)
    else:
        print(message, file=sys.stderr, flush=True)


def _cookies(environ: WSGIEnviron) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        name, sep, value = part.partition("=")
        if sep:
            found.setdefault(name.strip(), value.strip().strip('"'))
    return found


def _close(app_iter: Iterable[bytes]) -> None:
    close = getattr(app_iter, "close", None)
    if close is not None:
        close()


class DebuggedApplication:
    """Wrap a WSGI app so its exceptions show as an interactive traceback page.

    With `evalex` every frame gets a Python console, behind a PIN. Dev only: the page
    shows source and locals, and the console runs code in the server.
    """

    def __init__(
        self,
        app: WSGIApp,
        evalex: bool = False,
        request_key: str = "treadle.request",
        console_path: str = "/console",
        console_init_func: Callable[[], dict[str, Any]] | None = None,
        show_hidden_frames: bool = False,
        pin_security: bool = True,
        pin_logging: bool = True,
        trusted_hosts: Iterable[str] | None = None,
        processes: int = 1,
    ) -> None:
        self.app = app
        self.evalex = evalex
        # Kept for Werkzeug's signature; the page reads nothing through it.
        self.request_key = request_key
        self.console_path = console_path
        self.console_init_func = console_init_func
        self.show_hidden_frames = show_hidden_frames
        self.trusted_hosts = tuple(trusted_hosts or ())
        self.processes = processes
        self.secret = secrets.token_hex(16)
        self.frames = FrameRegistry()
        pin = pin_for_app(app) if pin_security else DebugPin(None, "__tdbg", b"")
        self.pin_guard = PinGuard(pin)
        if pin_logging:
            self._announce_pin()

    @property
    def pin(self) -> str | None:
        return self.pin_guard.pin.value

    @property
    def console_refusal(self) -> str | None:
        """Why the console is off for every request, or None if it is on."""
        if not self.evalex:
            return REFUSALS["evalex"]
        if self.processes > 1:
            return REFUSALS["processes"].format(processes=self.processes)
        return None

    def _announce_pin(self) -> None:
        announce(" * Debugger is active!")
        if self.console_refusal is not None:
            return
        if self.pin is None:
            announce(" * Debugger PIN disabled: anyone who can reach this server can run code!")
        else:
            announce(f" * Debugger PIN: {self.pin}")

    def _standalone(self) -> Console:
        return Console(self.console_init_func() if self.console_init_func else {})

    # -- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if "__debugger__=yes" in query:
            return self._command(environ, start_response, query)
        if self.evalex and environ.get("PATH_INFO") == self.console_path:
            return self._console_page(environ, start_response)
        return self._run_app(environ, start_response)

    def _run_app(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterator[bytes]:
        __traceback_hide__ = True  # read from the frame by tbtools
        contexts: list[AbstractContextManager[Any]] = []
        if self.console_refusal is None:
            environ[PRESERVE_CONTEXT_KEY] = contexts.append
        app_iter: Iterable[bytes] | None = None
        failure: Exception | None = None
        try:
            app_iter = self.app(environ, start_response)
            yield from iter(app_iter)
        except Exception as exc:
            failure = exc
        finally:
            # Runs on GeneratorExit too (the client left): the app's close() is owed.
            if app_iter is not None:
                try:
                    _close(app_iter)
                except Exception as exc:
                    failure = failure or exc
        if failure is not None:
            yield from self._report(environ, start_response, failure, contexts)

    def _report(
        self,
        environ: WSGIEnviron,
        start_response: StartResponse,
        exc: Exception,
        contexts: list[AbstractContextManager[Any]],
    ) -> Iterator[bytes]:
        tb = Traceback.from_exception(exc, self.show_hidden_frames)
        text = tb.text
        errors: TextIO = environ.get("wsgi.errors") or sys.stderr
        errors.write(text)
        if "text/html" in environ.get("HTTP_ACCEPT", ""):
            state = self._page_state(environ)
            if state.console:
                self.frames.add(tb.frames, contexts)
            body = render_traceback_page(tb, state, _request_line(environ)).encode()
            content_type = "text/html; charset=utf-8"
        else:
            body = text.encode("utf-8", errors="replace")
            content_type = "text/plain; charset=utf-8"
        headers = self._headers(content_type, body)
        try:
            start_response("500 Internal Server Error", headers, (type(exc), exc, exc.__traceback__))
        except BaseException:
            errors.write(
                "treadle debugger: the exception above happened after the response headers"
                " were sent, so it cannot be shown in the browser; the connection is closed.\n"
            )
            raise
        yield body

    def _page_state(self, environ: WSGIEnviron) -> PageState:
        note = None
        if self.evalex:
            note = self.console_refusal or self._host_refusal(environ)
        return PageState(
            secret=self.secret,
            console=self.evalex and note is None,
            console_note=note,
            unlocked=self._unlocked(environ),
        )

    def _host_refusal(self, environ: WSGIEnviron) -> str | None:
        host = environ.get("HTTP_HOST")
        if host_is_trusted(host, self.trusted_hosts):
            return None
        return REFUSALS["host"].format(host=host or "")

    def _unlocked(self, environ: WSGIEnviron) -> bool:
        return self.pin_guard.cookie_is_valid(_cookies(environ).get(self.pin_guard.pin.cookie_name))

    # -- the page's own requests ----------------------------------------------------------

    def _command(
        self, environ: WSGIEnviron, start_response: StartResponse, query: str
    ) -> list[bytes]:
        args = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True, errors="replace").items()}
        sent = args.get("s", "").encode(errors="replace")
        if not hmac.compare_digest(sent, self.secret.encode()):
            return self._refuse(start_response, "secret", REFUSALS["secret"])
        cmd = args.get("cmd", "")
        if cmd == "resource":
            return self._static(start_response, args.get("f", ""))
        if self.console_refusal is not None:
            return self._refuse(start_response, "console", self.console_refusal)
        host_refusal = self._host_refusal(environ)
        if host_refusal is not None:
            return self._refuse(start_response, "host", host_refusal)
        if cmd == "pinauth":
            return self._pin_auth(start_response, args.get("pin", ""))
        if cmd == "printpin":
            self._announce_pin()
            return self._json(start_response, {"printed": True})
        if self.pin_guard.locked:
            return self._refuse(start_response, "locked", REFUSALS["locked"])
        if not self._unlocked(environ):
            return self._refuse(start_response, "pin", REFUSALS["pin"])
        return self._execute(start_response, cmd, args.get("frm", "0"))

    def _execute(self, start_response: StartResponse, code: str, frame_arg: str) -> list[bytes]:
        if not frame_arg.isdecimal():
            return self._text(start_response, "400 Bad Request", "frm must be a frame number.")
        console = self.frames.console(int(frame_arg), self._standalone)
        if console is None:
            return self._text(
                start_response,
                "404 Not Found",
                "This frame is no longer kept (newer errors replaced it): reload the page.",
            )
        body = escape(console.push(code)).encode()
        headers = self._headers("text/html; charset=utf-8", body)
        headers.append(("X-Debugger-Prompt", console.prompt.strip()))
        start_response("200 OK", headers)
        return [body]

    def _pin_auth(self, start_response: StartResponse, entered: str) -> list[bytes]:
        guard = self.pin_guard
        if guard.locked:
            return self._json(start_response, {"auth": False, "locked": True})
        if not guard.attempt(entered):
            return self._json(start_response, {"auth": False, "locked": guard.locked})
        cookie = (
            f"{guard.pin.cookie_name}={guard.make_cookie()}; Max-Age={guard.max_age}; Path=/;"
            " HttpOnly; SameSite=Strict"
        )
        return self._json(start_response, {"auth": True, "locked": False}, [("Set-Cookie", cookie)])

    def _console_page(self, environ: WSGIEnviron, start_response: StartResponse) -> list[bytes]:
        state = self._page_state(environ)
        if state.console_note is not None:
            page = render_notice_page("Console unavailable", state.console_note, state)
            return self._html(start_response, "403 Forbidden", page)
        return self._html(start_response, "200 OK", render_console_page(state))

    def _static(self, start_response: StartResponse, name: str) -> list[bytes]:
        content_type = STATIC_FILES.get(name)
        if content_type is None:
            return self._text(start_response, "404 Not Found", "No such debugger file.")
        body = resources.files("treadle.dev.debugger").joinpath("static", name).read_bytes()
        start_response("200 OK", self._headers(content_type, body))
        return [body]

    # -- responses --------------------------------------------------------------------------

    @staticmethod
    def _headers(content_type: str, body: bytes) -> list[tuple[str, str]]:
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        headers.extend(SECURITY_HEADERS)
        if content_type.startswith("text/html"):
            headers.append(("Content-Security-Policy", PAGE_POLICY))
        return headers

    def _html(self, start_response: StartResponse, status: str, page: str) -> list[bytes]:
        body = page.encode()
        start_response(status, self._headers("text/html; charset=utf-8", body))
        return [body]

    def _text(self, start_response: StartResponse, status: str, text: str) -> list[bytes]:
        body = (text + "\n").encode()
        start_response(status, self._headers("text/plain; charset=utf-8", body))
        return [body]

    def _refuse(self, start_response: StartResponse, reason: str, text: str) -> list[bytes]:
        """403 with the reason as a header, so the page's script can react (e.g. ask the PIN)."""
        body = (text + "\n").encode()
        headers = self._headers("text/plain; charset=utf-8", body)
        headers.append(("X-Debugger-Refusal", reason))
        start_response("403 Forbidden", headers)
        return [body]

    def _json(
        self,
        start_response: StartResponse,
        data: dict[str, Any],
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        body = json.dumps(data).encode()
        headers = self._headers("application/json", body) + (extra or [])
        start_response("200 OK", headers)
        return [body]


def _request_line(environ: WSGIEnviron) -> str:
    target = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if environ.get("QUERY_STRING"):
        target += "?" + environ["QUERY_STRING"]
    # WSGI strings carry the raw bytes as latin-1; show them as the UTF-8 they usually are.
    target = target.encode("latin-1", errors="replace").decode("utf-8", errors="replace")
    return f"{environ.get('REQUEST_METHOD', 'GET')} {target}"
