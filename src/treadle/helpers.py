"""View helpers that act on the current app and request: url_for, redirect, abort, flash,
make_response, send_file, streaming with context, and the env-var flags the CLI shares.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import update_wrapper
from typing import IO, TYPE_CHECKING, Any, NoReturn

from treadle.exceptions import abort as _abort_default
from treadle.globals import _cv_app, _cv_request, current_app, request
from treadle.httputil import escape_html, iri_to_uri
from treadle.scaffold import get_root_path
from treadle.signals import message_flashed

if TYPE_CHECKING:
    from datetime import datetime
    from os import PathLike

    from treadle.wrappers import Response

__all__ = [
    "abort",
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "get_load_dotenv",
    "get_root_path",
    "get_template_attribute",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "url_for",
]

_FALSE_WORDS = frozenset({"0", "false", "no"})


def get_debug_flag() -> bool:
    """Whether ``TREADLE_DEBUG`` asks for debug mode (anything but 0/false/no)."""
    value = os.environ.get("TREADLE_DEBUG")
    return bool(value) and value.lower() not in _FALSE_WORDS  # type: ignore[union-attr]


def get_load_dotenv(default: bool = True) -> bool:
    """Whether to load .env files: ``default`` unless ``TREADLE_SKIP_DOTENV`` is set truthy."""
    value = os.environ.get("TREADLE_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in _FALSE_WORDS


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: Any,
) -> str:
    """Build the URL for ``endpoint`` with the current app (see ``Treadle.url_for``)."""
    return current_app.url_for(
        endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external, **values
    )


def _make_redirect(location: str, code: int, response_class: type[Response]) -> Response:
    # The body is for clients that do not follow redirects; the Location header is what counts.
    display = escape_html(location)
    target = iri_to_uri(location)
    body = (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n"
        f'<p>You should be redirected automatically to the target URL: <a href="{escape_html(target)}">'
        f"{display}</a>. If not, click the link.\n"
    )
    response = response_class(body, code, mimetype="text/html")
    response.headers["Location"] = target
    return response


def redirect(location: str, code: int = 302, Response: type[Response] | None = None) -> Response:
    """A response redirecting to ``location`` (302 by default; 307/308 keep the method)."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.redirect(location, code)
    if Response is None:
        from treadle import wrappers

        return _make_redirect(location, code, wrappers.Response)
    return _make_redirect(location, code, Response)


def abort(code: int | Response, *args: Any, **kwargs: Any) -> NoReturn:
    """Stop the request with an HTTP error: ``abort(404)``, ``abort(403, "why")``."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _abort_default(code, *args, **kwargs)


def make_response(*args: Any) -> Response:
    """Turn view-style return values into a response object, to add headers before returning."""
    if not args:
        return current_app.response_class()
    return current_app.make_response(args[0] if len(args) == 1 else args)


def flash(message: str, category: str = "message") -> None:
    """Store a message for the next request (read it with ``get_flashed_messages``)."""
    from treadle.globals import session

    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    if message_flashed.receivers:
        app = _cv_app.get().app
        message_flashed.send(app, _async_wrapper=app.ensure_sync, message=message, category=category)


def get_flashed_messages(
    with_categories: bool = False, category_filter: Any = ()
) -> list[str] | list[tuple[str, str]]:
    """The flashed messages, removed from the session; the same list on repeated calls."""
    ctx = _cv_request.get()
    flashes = ctx.flashes
    if flashes is None:
        session = ctx.session
        flashes = session.pop("_flashes") if "_flashes" in session else []
        ctx.flashes = flashes
    if category_filter:
        flashes = [f for f in flashes if f[0] in category_filter]
    if not with_categories:
        return [f[1] for f in flashes]
    return flashes


def get_template_attribute(template_name: str, attribute: str) -> Any:
    """A macro or variable exported by a template, to call from Python code."""
    return getattr(current_app.jinja_env.get_template(template_name).module, attribute)


def stream_with_context(generator_or_function: Any) -> Any:
    """Keep the request context active while a streamed response's generator runs.

    Use on a generator (or as a decorator on a generator function) returned from a view.
    """
    try:
        gen = iter(generator_or_function)
    except TypeError:
        func: Callable[..., Any] = generator_or_function

        def decorator(*args: Any, **kwargs: Any) -> Any:
            return stream_with_context(func(*args, **kwargs))

        return update_wrapper(decorator, func)

    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'stream_with_context' can only be used when a request context is active, such as"
            " in a view function."
        )
    wrapped = _run_in_context(ctx, gen)
    next(wrapped)  # enter the context now, while the view is still running
    return wrapped


def _run_in_context(ctx: Any, gen: Iterator[Any]) -> Iterator[Any]:
    with ctx:
        yield None
        try:
            yield from gen
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                close()


def send_file(
    path_or_file: str | PathLike[str] | IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: int | Callable[[str | None], int | None] | None = None,
) -> Response:
    """Send a file (path or binary file object), with conditional and range request support.

    Relative paths are relative to the app's root path. ``max_age`` defaults to the app's
    ``get_send_file_max_age``. Never pass a path built from user input: use
    ``send_from_directory``.
    """
    from treadle.files import send_file as _send_file

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _send_file(
        path_or_file,
        request.environ,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=download_name,
        conditional=conditional,
        etag=etag,
        last_modified=last_modified,
        max_age=app.get_send_file_max_age if max_age is None else max_age,
        use_x_sendfile=app.config["USE_X_SENDFILE"],
        response_class=app.response_class,
        _root_path=app.root_path,
    )


def send_from_directory(directory: str | PathLike[str], path: str | PathLike[str], **kwargs: Any) -> Response:
    """Send ``path`` from inside ``directory``; 404 if it escapes the directory or is missing."""
    from treadle.files import send_from_directory as _send_from_directory

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    kwargs.setdefault("max_age", app.get_send_file_max_age)
    kwargs.setdefault("use_x_sendfile", app.config["USE_X_SENDFILE"])
    kwargs.setdefault("response_class", app.response_class)
    kwargs.setdefault("_root_path", app.root_path)
    return _send_from_directory(directory, path, request.environ, **kwargs)
