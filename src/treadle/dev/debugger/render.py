"""HTML for the debugger's pages: the traceback page, the standalone console, short notices.

Every value from the app or the exception passes through `escape`; the pages carry no
inline script or style, so the Content-Security-Policy the middleware sends can forbid
them outright.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape

from treadle.dev.debugger.tbtools import CHAIN_SENTENCES, Frame, Traceback

TITLE_LIMIT = 200


@dataclass(frozen=True)
class PageState:
    """What a page offers: the secret its scripts send back, and whether consoles are open."""

    secret: str
    console: bool = False
    #: Why consoles are off although evalex is on (shown on the page), if they are.
    console_note: str | None = None
    unlocked: bool = False


def _resource(name: str, secret: str) -> str:
    return escape(f"?__debugger__=yes&cmd=resource&f={name}&s={secret}")


def _shell(title: str, body: str, state: PageState, page_class: str) -> str:
    secret = escape(state.secret)
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} // Treadle debugger</title>\n"
        f'<link rel="stylesheet" href="{_resource("debugger.css", state.secret)}">\n'
        f'<script src="{_resource("debugger.js", state.secret)}" defer></script>\n'
        "</head>\n"
        f'<body class="{page_class}" data-secret="{secret}"'
        f' data-console="{"on" if state.console else "off"}"'
        f' data-unlocked="{"yes" if state.unlocked else "no"}">\n'
        f"{body}"
        f"{_pin_dialog() if state.console else ''}"
        '<footer><p>Treadle debugger. It shows your source code and local variables: never'
        " run it where others can reach it.</p></footer>\n"
        "</body>\n</html>\n"
    )


def _pin_dialog() -> str:
    return (
        '<div class="pin-dialog" hidden role="dialog" aria-modal="true"'
        ' aria-labelledby="pin-title">\n'
        '<form class="pin-form">\n<h2 id="pin-title">Console locked</h2>\n'
        "<p>The console runs Python inside the server. Enter the PIN printed in the"
        " server's terminal (<code> * Debugger PIN: ...</code>).</p>\n"
        '<p><input name="pin" autocomplete="off" inputmode="numeric" aria-label="PIN"'
        ' placeholder="123-456-789"> <button type="submit">Unlock</button>'
        ' <button type="button" class="pin-cancel">Cancel</button></p>\n'
        '<p class="pin-message" role="alert"></p>\n'
        '<p><button type="button" class="link pin-print">Print the PIN in the terminal'
        " again</button></p>\n</form>\n</div>\n"
    )


def _source(frame: Frame) -> str:
    if not frame.lines:
        return '<p class="nosource">Source not available.</p>\n'
    out = ['<pre class="source">']
    width = len(str(frame.first_lineno + len(frame.lines) - 1))
    for offset, line in enumerate(frame.lines):
        lineno = frame.first_lineno + offset
        current = lineno == frame.lineno
        code = escape(line)
        if current and frame.mark is not None:
            start, end = frame.mark
            if line[:start].strip() or line[end:].strip():
                code = (
                    f"{escape(line[:start])}<mark>{escape(line[start:end])}</mark>"
                    f"{escape(line[end:])}"
                )
        cls = "line current" if current else "line"
        out.append(f'<span class="{cls}"><span class="ln">{lineno:>{width}}</span>{code}</span>')
    out.append("</pre>\n")
    return "".join(out)


def _frame(frame: Frame, console: bool) -> str:
    kind = "frame library" if frame.is_library else "frame"
    button = (
        '<button type="button" class="console-toggle" title="Open an interactive console'
        f' in this frame" aria-label="Open a console in {escape(frame.function)}">&gt;_</button>'
        if console
        else ""
    )
    return (
        f'<div class="{kind}" id="frame-{frame.id}" data-frame-id="{frame.id}">\n'
        f'<div class="frame-head"><code class="function">{escape(frame.function)}</code>'
        f' <span class="location"><span class="file">{escape(frame.filename)}</span>,'
        f' line <span class="lineno">{frame.lineno}</span></span>{button}</div>\n'
        f"{_source(frame)}</div>\n"
    )


def _groups(frames: list[Frame]) -> Iterator[tuple[bool, list[Frame]]]:
    """(folded, frames): runs of library frames fold; the innermost frame never does."""
    run: list[Frame] = []
    last = len(frames) - 1
    for index, frame in enumerate(frames):
        if frame.is_library and index < last:
            run.append(frame)
            continue
        if run:
            yield True, run
            run = []
        yield False, [frame]
    if run:
        yield True, run


def _frames(frames: list[Frame], console: bool) -> str:
    out: list[str] = []
    for folded, group in _groups(frames):
        html = "".join(_frame(frame, console) for frame in group)
        if folded:
            noun = "frame" if len(group) == 1 else "frames"
            out.append(
                f'<details class="library-frames"><summary>{len(group)} library {noun}'
                " (standard library, installed packages, treadle)</summary>\n"
                f"{html}</details>\n"
            )
        else:
            out.append(html)
    return "".join(out)


def _exception_heading(type_name: str, message: str, tag: str) -> str:
    text = f": {escape(message)}" if message else ""
    return f'<{tag} class="exception"><span class="exc-type">{escape(type_name)}</span>{text}</{tag}>\n'


def render_traceback_page(tb: Traceback, state: PageState, request_line: str = "") -> str:
    """The 500 page: the exception, each frame with its source, the plain text to copy."""
    last = tb.links[-1]
    title = f"{last.type_name}: {last.message}"[:TITLE_LIMIT]
    parts = [
        "<header>\n",
        f'<h1 class="exc-type">{escape(last.type_name)}</h1>\n',
        f'<p class="exc-message">{escape(last.message)}</p>\n' if last.message else "",
        f'<p class="request">{escape(request_line)}</p>\n' if request_line else "",
        "</header>\n<main>\n",
    ]
    if state.console_note:
        parts.append(f'<p class="note console-note">{escape(state.console_note)}</p>\n')
    elif state.console:
        parts.append(
            '<p class="note">Click <span class="key">&gt;_</span> on a frame to open a Python'
            " console in it.</p>\n"
        )
    for link in tb.links:
        parts.append('<section class="link">\n')
        if link is not last:
            parts.append(_exception_heading(link.type_name, link.message, "h2"))
        parts.append('<h3 class="tb-head">Traceback <small>(most recent call last)</small></h3>\n')
        parts.append(_frames(link.frames, state.console))
        parts.append(_exception_heading(link.type_name, link.message, "p"))
        if link.sub_exceptions_text:
            parts.append(f'<pre class="sub-exceptions">{escape(link.sub_exceptions_text)}</pre>\n')
        parts.append("</section>\n")
        if link.relation is not None:
            parts.append(f'<p class="chain">{escape(CHAIN_SENTENCES[link.relation])}</p>\n')
    text = tb.text
    parts.append(
        '<details class="plain"><summary>Traceback as plain text (to copy)</summary>\n'
        f'<textarea readonly rows="{min(text.count(chr(10)) + 1, 40)}" spellcheck="false"'
        f' aria-label="Traceback as plain text">{escape(text)}</textarea>\n</details>\n'
        "</main>\n"
    )
    return _shell(title, "".join(parts), state, "debugger traceback-page")


def render_console_page(state: PageState) -> str:
    """The standalone console at console_path."""
    version = sys.version.split()[0]
    body = (
        "<header>\n<h1>Interactive console</h1>\n"
        f'<p class="exc-message">Python {escape(version)}, running inside the server process.'
        "</p>\n</header>\n<main>\n"
        '<div class="frame standalone" id="frame-0" data-frame-id="0"></div>\n</main>\n'
    )
    return _shell("Console", body, state, "debugger console-page")


def render_notice_page(title: str, text: str, state: PageState) -> str:
    """A short page explaining why something is unavailable."""
    body = (
        f"<header>\n<h1>{escape(title)}</h1>\n</header>\n<main>\n"
        f'<p class="note">{escape(text)}</p>\n</main>\n'
    )
    return _shell(title, body, state, "debugger notice-page")
