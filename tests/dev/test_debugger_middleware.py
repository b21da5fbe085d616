"""DebuggedApplication called directly as WSGI: the error page, commands, PIN and console."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from treadle.dev.debugger import PRESERVE_CONTEXT_KEY, DebuggedApplication
from treadle.dev.debugger.pin import MAX_FAILED_ATTEMPTS

PIN = "123-456-789"


@dataclass
class Reply:
    status: str
    headers: dict[str, str]
    body: bytes
    errors: str

    @property
    def code(self) -> int:
        return int(self.status.split()[0])

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def call(
    app: Callable[..., Any],
    path: str = "/",
    query: str = "",
    *,
    host: str | None = "localhost:5000",
    accept: str = "text/html,application/xhtml+xml,*/*;q=0.8",
    cookie: str = "",
) -> Reply:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_ACCEPT": accept,
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
    }
    if host is not None:
        environ["HTTP_HOST"] = host
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, headers

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    headers = {name.lower(): value for name, value in seen["headers"]}
    return Reply(seen["status"], headers, body, environ["wsgi.errors"].getvalue())


def failing_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    answer = 42
    words = ["alpha", "beta"]
    raise ValueError(f"bad answer {answer} for {len(words)} words")


def ok_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"fine"]


@pytest.fixture(autouse=True)
def fixed_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREADLE_DEBUG_PIN", PIN)


def debugged(app: Callable[..., Any] = failing_app, **options: Any) -> DebuggedApplication:
    options.setdefault("evalex", True)
    options.setdefault("pin_logging", False)
    return DebuggedApplication(app, **options)


def command(dbg: DebuggedApplication, cookie: str = "", host: str = "localhost", **params: str) -> Reply:
    params.setdefault("s", dbg.secret)
    return call(dbg, query=urlencode({"__debugger__": "yes", **params}), cookie=cookie, host=host)


def frame_id(page: str, function: str) -> str:
    match = re.search(
        rf'data-frame-id="(\d+)">\s*<div class="frame-head"><code class="function">[^<]*\b{function}</code>',
        page,
    )
    assert match, f"no frame for {function} in page"
    return match.group(1)


def unlock(dbg: DebuggedApplication) -> str:
    reply = command(dbg, cmd="pinauth", pin=PIN)
    assert reply.json() == {"auth": True, "locked": False}
    return reply.headers["set-cookie"].split(";")[0]


# -- the error page ------------------------------------------------------------------------


def test_successful_response_passes_through() -> None:
    reply = call(debugged(ok_app))
    assert (reply.status, reply.body) == ("200 OK", b"fine")


def test_exception_in_app_gives_html_500_for_browsers() -> None:
    reply = call(debugged())
    assert reply.code == 500
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert "ValueError" in reply.text
    assert "bad answer 42 for 2 words" in reply.text


def test_page_shows_frame_file_line_function_and_source() -> None:
    page = call(debugged()).text
    assert '<code class="function">failing_app</code>' in page
    assert __file__ in page
    assert 'class="line current"' in page
    assert "words = [&quot;alpha&quot;, &quot;beta&quot;]" in page


def test_page_has_plain_text_traceback_in_textarea() -> None:
    page = call(debugged()).text
    textarea = page[page.index("<textarea") : page.index("</textarea>")]
    assert "Traceback (most recent call last):" in textarea
    assert "ValueError: bad answer 42 for 2 words" in textarea


def test_page_forbids_inline_script_with_csp() -> None:
    reply = call(debugged())
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert re.search(r"<script(?![^>]*\bsrc=)", reply.text) is None


def test_exception_is_logged_to_wsgi_errors() -> None:
    reply = call(debugged())
    assert "ValueError: bad answer 42" in reply.errors


def test_curl_accept_gets_plain_text() -> None:
    reply = call(debugged(), accept="*/*")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.text.startswith("Traceback (most recent call last):")
    assert reply.text.rstrip().endswith("ValueError: bad answer 42 for 2 words")


def test_json_accept_gets_plain_text() -> None:
    reply = call(debugged(), accept="application/json")
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"


def test_exception_while_iterating_body_gives_500_page() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise KeyError("late")
        yield b""

    reply = call(debugged(app))
    assert reply.code == 500
    assert "KeyError" in reply.text


def test_exception_after_headers_sent_is_logged_and_reraised() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        raise KeyError("too late")

    errors = io.StringIO()
    sent: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        if sent and exc_info is not None:
            raise exc_info[1].with_traceback(exc_info[2])
        sent.append(status)

    environ = {"PATH_INFO": "/", "HTTP_ACCEPT": "text/html", "wsgi.errors": errors}
    chunks = iter(debugged(app)(environ, start_response))
    assert next(chunks) == b"partial"
    with pytest.raises(KeyError, match="too late"):
        next(chunks)
    assert "after the response headers were sent" in errors.getvalue()


def test_app_iter_close_is_called_when_iteration_fails() -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            raise OSError("disk gone")

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Body:
        start_response("200 OK", [])
        return Body()

    reply = call(debugged(app))
    assert reply.code == 500 and closed == [True]


def test_exception_chain_is_shown_with_python_sentence() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        try:
            {}["missing"]
        except KeyError as exc:
            raise RuntimeError("lookup failed") from exc
        return []

    page = call(debugged(app)).text
    main = page[page.index("<main>") :]
    order = ['exc-type">KeyError', "direct cause", 'exc-type">RuntimeError']
    assert [main.index(text) for text in order] == sorted(main.index(text) for text in order)


def test_exception_group_members_are_shown() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise ExceptionGroup("batch", [OSError("disk"), TimeoutError("net")])

    page = call(debugged(app)).text
    members = page[page.index('<pre class="sub-exceptions">') :]
    assert "OSError: disk" in members and "TimeoutError: net" in members


def test_middleware_frame_is_hidden_from_traceback() -> None:
    page = call(debugged()).text
    assert "_run_app" not in page


def test_hidden_frames_shown_when_asked() -> None:
    page = call(debugged(show_hidden_frames=True)).text
    assert "_run_app" in page


def test_pin_is_announced_when_created(capsys: pytest.CaptureFixture[str]) -> None:
    DebuggedApplication(failing_app, evalex=True)
    assert f" * Debugger PIN: {PIN}" in capsys.readouterr().err


def test_generated_pin_has_nine_digits_in_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TREADLE_DEBUG_PIN")
    assert re.fullmatch(r"\d{3}-\d{3}-\d{3}", debugged().pin or "")


# -- secret, resources and refusals --------------------------------------------------------


def test_command_without_secret_is_forbidden() -> None:
    dbg = debugged()
    reply = call(dbg, query="__debugger__=yes&cmd=pinauth&pin=" + PIN)
    assert reply.code == 403
    assert "secret" in reply.text


def test_command_with_wrong_secret_is_forbidden() -> None:
    reply = command(debugged(), s="0" * 32, cmd="resource", f="debugger.js")
    assert reply.code == 403


def test_resource_is_served_with_secret() -> None:
    reply = command(debugged(), cmd="resource", f="debugger.js")
    assert reply.code == 200
    assert reply.headers["content-type"].startswith("text/javascript")
    assert b"pinauth" in reply.body


def test_unknown_resource_is_not_found() -> None:
    assert command(debugged(), cmd="resource", f="../pin.py").code == 404


def test_console_command_needs_pin_cookie() -> None:
    dbg = debugged()
    call(dbg)
    reply = command(dbg, cmd="1+1", frm="0")
    assert reply.code == 403
    assert reply.headers["x-debugger-refusal"] == "pin"


# -- PIN -----------------------------------------------------------------------------------


def test_wrong_pin_is_refused_without_cookie() -> None:
    reply = command(debugged(), cmd="pinauth", pin="000-000-000")
    assert reply.json() == {"auth": False, "locked": False}
    assert "set-cookie" not in reply.headers


def test_right_pin_sets_http_only_strict_cookie() -> None:
    reply = command(debugged(), cmd="pinauth", pin=PIN)
    assert reply.json()["auth"] is True
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=28800" in cookie


def test_pin_cookie_unlocks_console() -> None:
    dbg = debugged()
    reply = command(dbg, cookie=unlock(dbg), cmd="6*7", frm="0")
    assert reply.code == 200
    assert reply.text == "&gt;&gt;&gt; 6*7\n42\n"


def test_tampered_cookie_is_refused() -> None:
    dbg = debugged()
    name, _, value = unlock(dbg).partition("=")
    forged = f"{name}={value[:-1]}{'0' if value[-1] != '0' else '1'}"
    assert command(dbg, cookie=forged, cmd="1", frm="0").code == 403


def test_ten_wrong_pins_lock_even_the_right_one() -> None:
    dbg = debugged()
    for _ in range(MAX_FAILED_ATTEMPTS):
        command(dbg, cmd="pinauth", pin="111-111-111")
    assert command(dbg, cmd="pinauth", pin=PIN).json() == {"auth": False, "locked": True}


def test_lockout_also_refuses_existing_cookie() -> None:
    dbg = debugged()
    cookie = unlock(dbg)
    for _ in range(MAX_FAILED_ATTEMPTS):
        command(dbg, cmd="pinauth", pin="111-111-111")
    reply = command(dbg, cookie=cookie, cmd="1", frm="0")
    assert reply.code == 403 and reply.headers["x-debugger-refusal"] == "locked"


def test_pin_off_opens_console_without_cookie(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREADLE_DEBUG_PIN", "off")
    dbg = debugged()
    assert dbg.pin is None
    assert command(dbg, cmd="1+1", frm="0").text.endswith("2\n")


def test_pin_security_false_disables_pin() -> None:
    dbg = debugged(pin_security=False)
    assert command(dbg, cmd="1+1", frm="0").code == 200


# -- evaluation in frames -------------------------------------------------------------------


def test_console_evaluates_in_frame_locals() -> None:
    dbg = debugged()
    frm = frame_id(call(dbg).text, "failing_app")
    reply = command(dbg, cookie=unlock(dbg), cmd="answer * 2, words[1]", frm=frm)
    assert reply.text.endswith("(84, &#x27;beta&#x27;)\n")


def test_console_keeps_multi_line_input_between_requests() -> None:
    dbg = debugged()
    cookie, frm = unlock(dbg), frame_id(call(dbg).text, "failing_app")
    first = command(dbg, cookie=cookie, cmd="for w in words:", frm=frm)
    assert first.headers["x-debugger-prompt"] == "..."
    command(dbg, cookie=cookie, cmd="    print(w.upper())", frm=frm)
    last = command(dbg, cookie=cookie, cmd="", frm=frm)
    assert last.text.endswith("ALPHA\nBETA\n")
    assert last.headers["x-debugger-prompt"] == ">>>"


def test_console_output_is_html_escaped() -> None:
    dbg = debugged()
    reply = command(dbg, cookie=unlock(dbg), cmd="print('<b>&')", frm="0")
    assert "&lt;b&gt;&amp;" in reply.text and "<b>" not in reply.text


def test_unknown_frame_is_not_found() -> None:
    dbg = debugged()
    assert command(dbg, cookie=unlock(dbg), cmd="1", frm="9999").code == 404


def test_frame_number_must_be_a_number() -> None:
    dbg = debugged()
    assert command(dbg, cookie=unlock(dbg), cmd="1", frm="abc").code == 400


def test_preserved_context_is_entered_around_each_command() -> None:
    log: list[str] = []

    class Reentrant:
        def __enter__(self) -> None:
            log.append("enter")

        def __exit__(self, *exc: object) -> None:
            log.append("exit")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ[PRESERVE_CONTEXT_KEY](Reentrant())
        log.append("app")
        raise ValueError("x")

    dbg = debugged(app)
    cookie, frm = unlock(dbg), frame_id(call(dbg).text, "app")
    command(dbg, cookie=cookie, cmd="log.append('run')", frm=frm)
    command(dbg, cookie=cookie, cmd="log.append('run')", frm=frm)
    assert log == ["app", "enter", "run", "exit", "enter", "run", "exit"]


def test_standalone_console_page_is_served_at_console_path() -> None:
    reply = call(debugged(), path="/console")
    assert reply.code == 200
    assert 'data-frame-id="0"' in reply.text


def test_standalone_console_uses_init_func_namespace() -> None:
    dbg = debugged(console_init_func=lambda: {"greeting": "hello"})
    reply = command(dbg, cookie=unlock(dbg), cmd="greeting.title()", frm="0")
    assert reply.text.endswith("&#x27;Hello&#x27;\n")


# -- where the console is off --------------------------------------------------------------


def test_evalex_off_page_has_no_console() -> None:
    page = call(debugged(evalex=False)).text
    assert "console-toggle" not in page and 'data-console="off"' in page


def test_evalex_off_console_path_reaches_the_app() -> None:
    assert call(debugged(ok_app, evalex=False), path="/console").body == b"fine"


def test_evalex_off_refuses_commands() -> None:
    reply = command(debugged(evalex=False), cmd="1", frm="0")
    assert reply.code == 403 and "use_evalex=True" in reply.text


def test_foreign_host_page_has_no_console_and_says_why() -> None:
    page = call(debugged(), host="evil.example").text
    assert "console-toggle" not in page
    assert "evil.example" in page and "trusted_hosts" in page


def test_foreign_host_commands_are_refused() -> None:
    dbg = debugged()
    reply = command(dbg, host="evil.example:5000", cmd="pinauth", pin=PIN)
    assert reply.code == 403 and reply.headers["x-debugger-refusal"] == "host"


def test_foreign_host_console_path_is_refused() -> None:
    assert call(debugged(), path="/console", host="evil.example").code == 403


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "[::1]:5000", "app.localhost"])
def test_local_hosts_may_use_console(host: str) -> None:
    dbg = debugged()
    assert command(dbg, host=host, cmd="pinauth", pin=PIN).json()["auth"] is True


def test_trusted_host_may_use_console() -> None:
    dbg = debugged(trusted_hosts=[".dev.test"])
    assert command(dbg, host="api.dev.test", cmd="pinauth", pin=PIN).json()["auth"] is True


def test_several_processes_page_says_console_is_off() -> None:
    page = call(debugged(processes=4)).text
    assert "console-toggle" not in page
    assert "4 worker processes" in page
    assert "ValueError" in page


def test_several_processes_commands_are_refused() -> None:
    reply = command(debugged(processes=2), cmd="pinauth", pin=PIN)
    assert reply.code == 403 and "processes=1" in reply.text


def test_several_processes_console_path_explains() -> None:
    reply = call(debugged(processes=2), path="/console")
    assert reply.code == 403 and "worker processes" in reply.text
