"""Response: status, headers and body, and the WSGI call that sends them (Werkzeug's API).

``Response.__init__`` and ``Response.__call__`` run on every request: they touch
only what a plain text or bytes body needs and leave the rest to lazy properties.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import urljoin

from treadle.datastructures import (
    ContentRange,
    Headers,
    HeaderSet,
    ResponseCacheControl,
    _header_value,
)
from treadle.exceptions import RequestedRangeNotSatisfiable
from treadle.httputil import (
    HTTP_STATUS_CODES,
    dump_cookie,
    generate_etag,
    get_content_type,
    http_date,
    iri_to_uri,
    is_resource_modified,
    parse_cache_control_header,
    parse_content_range_header,
    parse_date,
    parse_list_header,
    parse_options_header,
    parse_range_header,
    quote_etag,
    unquote_etag,
)
from treadle.wrappers.request import Request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["Response"]

# "200 OK"-style status lines, precomputed: Flask shows reasons upper-cased.
_STATUS_LINES = {code: f"{code} {reason.upper()}" for code, reason in HTTP_STATUS_CODES.items()}
# Content-Type values for the common mimetypes, computed once (read-only after import).
_CONTENT_TYPES: dict[tuple[str, str], str] = {
    (mimetype, "utf-8"): get_content_type(mimetype, "utf-8")
    for mimetype in ("text/html", "text/plain", "application/json", "application/octet-stream")
}


_NO_BODY_HEADERS = frozenset({"content-length", "content-type", "content-range"})


def _run_wsgi_app(
    app: WSGIApplication, environ: WSGIEnvironment, buffered: bool = False
) -> tuple[Iterable[bytes], str, Headers]:
    """Call a WSGI app and capture what it starts: (body, status, headers)."""
    captured: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured[:] = [status, headers]
        return written.append

    body = app(environ, start_response)
    if buffered or written or not captured:
        try:
            chunks = list(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        body = written + chunks
    return body, captured[0], Headers(captured[1])


class Response:
    """An outgoing response: status, headers and a body of bytes or an iterable of chunks.

    A str or bytes body gets Content-Length; an iterable is streamed as it is produced.
    """

    default_status = 200
    default_mimetype: str | None = "text/html"
    charset = "utf-8"
    autocorrect_location_header = False
    automatically_set_content_length = True
    max_cookie_size = 4093
    json_module: Any = json

    def __init__(
        self,
        response: Iterable[Any] | bytes | bytearray | str | None = None,
        status: int | str | None = None,
        headers: Headers | Any = None,
        mimetype: str | None = None,
        content_type: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        if headers is None:
            self.headers = Headers()
            has_type = False
        else:
            self.headers = headers if isinstance(headers, Headers) else Headers(headers)
            has_type = "Content-Type" in self.headers
        if content_type is None:
            if mimetype is None and not has_type:
                mimetype = self.default_mimetype
            if mimetype is not None:
                # The table's values are known to be clean; others are checked once.
                content_type = _CONTENT_TYPES.get((mimetype, self.charset)) or _header_value(
                    get_content_type(mimetype, self.charset)
                )
        else:
            content_type = _header_value(content_type)
        if content_type is not None:
            if has_type:
                self.headers.set("Content-Type", content_type)
            else:
                self.headers._list.append(("Content-Type", content_type))
        if status is None:
            status = self.default_status
        if type(status) is int:
            self._status_code = status
            self._status = _STATUS_LINES.get(status) or f"{status} UNKNOWN"
        else:
            self.status = status
        self.direct_passthrough = direct_passthrough
        self._on_close: list[Callable[[], Any]] = []
        self.response: Iterable[Any]
        if response is None:
            self.response = []
        elif isinstance(response, str):
            data = response.encode(self.charset)
            self.response = [data]
            if self.automatically_set_content_length:
                if headers is None:
                    self.headers._list.append(("Content-Length", str(len(data))))
                else:
                    self.headers.set("Content-Length", str(len(data)))
        elif isinstance(response, bytes | bytearray):
            self.set_data(response)
        else:
            self.response = response

    def __repr__(self) -> str:
        if self.is_sequence:
            size = f"{sum(len(chunk) for chunk in self.iter_encoded())} bytes"
        else:
            size = "streamed"
        return f"<{type(self).__name__} {size} [{self.status}]>"

    # --- status -----------------------------------------------------------------------

    @property
    def status(self) -> str:
        """The status line, e.g. ``"404 NOT FOUND"``; set it from an int or a string."""
        return self._status

    @status.setter
    def status(self, value: int | str) -> None:
        if isinstance(value, int):
            self._status_code = value
            self._status = _STATUS_LINES.get(value) or f"{value} UNKNOWN"
            return
        value = value.strip()
        if not value:
            raise ValueError("empty status: give a code like 200 or a line like '200 OK'")
        code, _, reason = value.partition(" ")
        try:
            self._status_code = int(code)
        except ValueError:
            raise ValueError(
                f"invalid status {value!r}: it must start with a number, like '404 NOT FOUND'"
            ) from None
        self._status = value if reason else _STATUS_LINES.get(self._status_code, f"{code} UNKNOWN")

    @property
    def status_code(self) -> int:
        return self._status_code

    @status_code.setter
    def status_code(self, value: int) -> None:
        self.status = value

    # --- body -------------------------------------------------------------------------

    def set_data(self, value: bytes | bytearray | str) -> None:
        """Replace the body; str is encoded as UTF-8 and Content-Length follows."""
        value = value.encode(self.charset) if isinstance(value, str) else bytes(value)
        self.response = [value]
        if self.automatically_set_content_length:
            self.headers.set("Content-Length", str(len(value)))

    @overload
    def get_data(self, as_text: Literal[False] = False) -> bytes: ...
    @overload
    def get_data(self, as_text: Literal[True]) -> str: ...
    def get_data(self, as_text: bool = False) -> bytes | str:
        """The whole body; a streamed body is read (and kept) first."""
        self._ensure_sequence()
        data = b"".join(self.iter_encoded())
        return data.decode(self.charset) if as_text else data

    data = property(get_data, set_data, doc="The body as bytes.")

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.response, list | tuple)

    @property
    def is_streamed(self) -> bool:
        """True when the body has no known length (a generator or file iterator)."""
        try:
            len(self.response)  # type: ignore[arg-type]
        except (TypeError, AttributeError):
            return True
        return False

    def iter_encoded(self) -> Iterator[bytes]:
        """The body's chunks, str ones encoded."""
        return _encoded(self.response, self.charset)

    def _ensure_sequence(self) -> None:
        if self.is_sequence:
            return
        if self.direct_passthrough:
            raise RuntimeError(
                "This response is in direct_passthrough mode, so its body cannot be read:"
                " create it without direct_passthrough to use data or get_data()."
            )
        self.make_sequence()

    def make_sequence(self) -> None:
        """Read a streamed body into a list so it can be measured and sent again."""
        if not self.is_sequence:
            close = getattr(self.response, "close", None)
            self.response = list(self.iter_encoded())
            if close is not None:
                self.call_on_close(close)

    def freeze(self) -> None:
        """Buffer the body and fix Content-Length, e.g. before caching the response."""
        self.response = list(self.iter_encoded())
        self.headers.set("Content-Length", str(sum(len(chunk) for chunk in self.response)))

    def calculate_content_length(self) -> int | None:
        if not self.is_sequence:
            return None
        return sum(len(chunk) for chunk in self.iter_encoded())

    # --- JSON -------------------------------------------------------------------------

    @property
    def is_json(self) -> bool:
        mimetype = self.mimetype or ""
        return mimetype == "application/json" or (
            mimetype.startswith("application/") and mimetype.endswith("+json")
        )

    def get_json(self, force: bool = False, silent: bool = False) -> Any:
        """The body parsed as JSON; None if it is not JSON (unless ``force``)."""
        if not (force or self.is_json):
            return None
        try:
            return self.json_module.loads(self.get_data())
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        return self.get_json()

    # --- simple header properties -----------------------------------------------------

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")  # type: ignore[no-any-return]

    @content_type.setter
    def content_type(self, value: str | None) -> None:
        self._set_or_remove("Content-Type", value)

    @property
    def mimetype(self) -> str | None:
        content_type = self.headers.get("Content-Type")
        return content_type.split(";", 1)[0].strip().lower() if content_type else None

    @mimetype.setter
    def mimetype(self, value: str) -> None:
        self.headers.set("Content-Type", get_content_type(value, self.charset))

    @property
    def mimetype_params(self) -> dict[str, str]:
        return parse_options_header(self.headers.get("Content-Type"))[1]

    @property
    def content_length(self) -> int | None:
        return self.headers.get("Content-Length", type=int)  # type: ignore[no-any-return]

    @content_length.setter
    def content_length(self, value: int | None) -> None:
        self._set_or_remove("Content-Length", None if value is None else str(value))

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")  # type: ignore[no-any-return]

    @location.setter
    def location(self, value: str | None) -> None:
        self._set_or_remove("Location", value)

    @property
    def content_encoding(self) -> str | None:
        return self.headers.get("Content-Encoding")  # type: ignore[no-any-return]

    @content_encoding.setter
    def content_encoding(self, value: str | None) -> None:
        self._set_or_remove("Content-Encoding", value)

    def _date_header(self, name: str) -> datetime | None:
        return parse_date(self.headers.get(name))

    def _set_date_header(self, name: str, value: datetime | float | str | None) -> None:
        if value is None or isinstance(value, str):
            self._set_or_remove(name, value)
        else:
            self.headers.set(name, http_date(value))

    @property
    def last_modified(self) -> datetime | None:
        return self._date_header("Last-Modified")

    @last_modified.setter
    def last_modified(self, value: datetime | float | str | None) -> None:
        self._set_date_header("Last-Modified", value)

    @property
    def expires(self) -> datetime | None:
        return self._date_header("Expires")

    @expires.setter
    def expires(self, value: datetime | float | str | None) -> None:
        self._set_date_header("Expires", value)

    @property
    def date(self) -> datetime | None:
        return self._date_header("Date")

    @date.setter
    def date(self, value: datetime | float | str | None) -> None:
        self._set_date_header("Date", value)

    def _set_or_remove(self, name: str, value: str | None) -> None:
        if value is None:
            self.headers.remove(name)
        else:
            self.headers.set(name, value)

    @property
    def cache_control(self) -> ResponseCacheControl:
        """Cache-Control as attributes (``public``, ``max_age``...); changes write the header."""
        control = self.__dict__.get("_cache_control")
        if control is None:
            control = parse_cache_control_header(
                self.headers.get("Cache-Control"), self._write_cache_control
            )
            self.__dict__["_cache_control"] = control
        return control

    def _write_cache_control(self, control: ResponseCacheControl) -> None:
        self._set_or_remove("Cache-Control", control.to_header() or None)

    @property
    def vary(self) -> HeaderSet:
        """The Vary header as a set; ``response.vary.add("Cookie")`` updates it."""
        return HeaderSet(parse_list_header(self.headers.get("Vary")), self._write_vary)

    @vary.setter
    def vary(self, value: Iterable[str] | str | None) -> None:
        if value is not None and not isinstance(value, str):
            value = ", ".join(value)
        self._set_or_remove("Vary", value or None)

    def _write_vary(self, header_set: HeaderSet) -> None:
        self._set_or_remove("Vary", header_set.to_header() or None)

    @property
    def content_range(self) -> ContentRange | None:
        return parse_content_range_header(self.headers.get("Content-Range"))

    @content_range.setter
    def content_range(self, value: ContentRange | str | None) -> None:
        self._set_or_remove("Content-Range", None if value is None else str(value))

    # --- cookies and ETags ------------------------------------------------------------

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: timedelta | int | None = None,
        expires: str | datetime | float | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
        partitioned: bool = False,
    ) -> None:
        """Add a Set-Cookie header (see ``httputil.dump_cookie`` for the rules)."""
        self.headers.add(
            "Set-Cookie",
            dump_cookie(
                key,
                value,
                max_age=max_age,
                expires=expires,
                path=path,
                domain=domain,
                secure=secure,
                httponly=httponly,
                samesite=samesite,
                partitioned=partitioned,
                max_size=self.max_cookie_size,
            ),
        )

    def delete_cookie(
        self,
        key: str,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
        partitioned: bool = False,
    ) -> None:
        """Tell the browser to drop a cookie: path and domain must match how it was set."""
        self.set_cookie(
            key,
            expires=0,
            max_age=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    def set_etag(self, etag: str, weak: bool = False) -> None:
        self.headers.set("ETag", quote_etag(etag, weak))

    def get_etag(self) -> tuple[str | None, bool]:
        """``(tag, is_weak)``, or ``(None, False)`` without an ETag."""
        return unquote_etag(self.headers.get("ETag"))

    def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:
        """Set an ETag from the body's hash unless one is set already."""
        if overwrite or "ETag" not in self.headers:
            self.set_etag(generate_etag(self.get_data()), weak)

    # --- conditional and range responses ----------------------------------------------

    def make_conditional(
        self,
        request_or_environ: Request | WSGIEnvironment,
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> Response:
        """Answer 304 when the client's copy is fresh and 206 for a satisfiable Range.

        Only GET and HEAD are affected. An unsatisfiable range raises
        ``RequestedRangeNotSatisfiable`` (416); several ranges are answered whole.
        """
        environ = (
            request_or_environ.environ
            if isinstance(request_or_environ, Request)
            else request_or_environ
        )
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return self
        if "Date" not in self.headers:
            self.headers.set("Date", http_date())
        partial = self._process_range(environ, accept_ranges, complete_length)
        if not partial and not is_resource_modified(
            environ, self.headers.get("ETag"), None, self.headers.get("Last-Modified")
        ):
            self.status_code = 304
        if self.automatically_set_content_length and "Content-Length" not in self.headers:
            length = self.calculate_content_length()
            if length is not None:
                self.headers.set("Content-Length", str(length))
        return self

    def _process_range(
        self, environ: WSGIEnvironment, accept_ranges: bool | str, complete_length: int | None
    ) -> bool:
        if not accept_ranges:
            return False
        self.headers.set("Accept-Ranges", "bytes" if accept_ranges is True else accept_ranges)
        if "HTTP_RANGE" not in environ or self._status_code != 200:
            return False
        if "HTTP_IF_RANGE" in environ and is_resource_modified(
            environ,
            self.headers.get("ETag"),
            None,
            self.headers.get("Last-Modified"),
            ignore_if_range=False,
        ):
            return False  # If-Range did not match: send the whole, current body
        parsed = parse_range_header(environ.get("HTTP_RANGE"))
        if parsed is None or len(parsed.ranges) != 1 or parsed.units != "bytes":
            return False
        if complete_length is None:
            complete_length = self.calculate_content_length()
            if complete_length is None:
                return False
        span = parsed.range_for_length(complete_length)
        if span is None:
            raise RequestedRangeNotSatisfiable(complete_length)
        start, stop = span
        if (start, stop) == (0, complete_length):
            return False
        if self.is_sequence:
            self.response = [self.get_data()[start:stop]]
        else:
            source = self.response
            close = getattr(source, "close", None)
            if close is not None:
                self.call_on_close(close)
            self.response = _slice_chunks(_encoded(source, self.charset), start, stop - start)
        self.headers.set("Content-Length", str(stop - start))
        self.headers.set("Content-Range", f"bytes {start}-{stop - 1}/{complete_length}")
        self.status_code = 206
        return True

    # --- WSGI -------------------------------------------------------------------------

    def call_on_close(self, func: Callable[[], Any]) -> Callable[[], Any]:
        """Run ``func`` when the server is done sending this response."""
        self._on_close.append(func)
        return func

    def close(self) -> None:
        close = getattr(self.response, "close", None)
        if close is not None:
            close()
        for func in self._on_close:
            func()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        """The headers to send, adjusted for the status and request (a copy when changed)."""
        headers = self.headers
        code = self._status_code
        location = None
        has_length = False
        for name, value in headers._list:
            lowered = name.lower()
            if lowered == "content-length":
                has_length = True
            elif lowered == "location":
                location = value
        no_body = code < 200 or code == 204 or code == 304
        needs_length = (
            not has_length
            and not no_body
            and self.automatically_set_content_length
            and self.is_sequence
        )
        if location is not None:
            fixed = iri_to_uri(location)
            if self.autocorrect_location_header and "://" not in fixed:
                fixed = urljoin(Request(environ, populate_request=False).base_url, fixed)
            location = None if fixed == location else fixed
        if location is None and not no_body and not needs_length:
            return headers
        headers = headers.copy()
        if location is not None:
            headers.set("Location", location)
        if no_body:
            for name in _NO_BODY_HEADERS:
                if name != "content-type" or code != 304:
                    headers.remove(name)
        elif needs_length:
            headers.set("Content-Length", str(self.calculate_content_length()))
        return headers

    def get_app_iter(self, environ: WSGIEnvironment) -> Iterable[bytes]:
        """The body iterable for the server: empty for HEAD and body-less statuses."""
        code = self._status_code
        if code < 200 or code == 204 or code == 304 or environ.get("REQUEST_METHOD") == "HEAD":
            self.close()
            return ()
        response = self.response
        if self.direct_passthrough:
            return response
        if type(response) is list and not self._on_close:
            if len(response) == 1:
                if type(response[0]) is bytes:
                    return response
            elif all(type(chunk) is bytes for chunk in response):
                return response
        return _ClosingIterator(self.iter_encoded(), self.close)

    def get_wsgi_response(
        self, environ: WSGIEnvironment
    ) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
        """(body, status, headers) for the server, without calling start_response."""
        headers = self.get_wsgi_headers(environ)
        return self.get_app_iter(environ), self._status, headers.to_wsgi_list()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        headers = self.get_wsgi_headers(environ)
        app_iter = self.get_app_iter(environ)
        start_response(self._status, headers.to_wsgi_list())
        return app_iter

    @classmethod
    def force_type(cls, response: Any, environ: WSGIEnvironment | None = None) -> Response:
        """Make ``response`` an instance of this class; a WSGI app is run against ``environ``."""
        if not isinstance(response, Response):
            if environ is None:
                raise TypeError(
                    "force_type() needs the environ to turn a WSGI application into a response:"
                    " pass force_type(app, environ)."
                )
            response = Response(*_run_wsgi_app(response, environ))
        response.__class__ = cls
        return response  # type: ignore[no-any-return]

    @classmethod
    def from_app(
        cls, app: WSGIApplication, environ: WSGIEnvironment, buffered: bool = False
    ) -> Response:
        """Run a WSGI app and wrap what it returns; ``buffered`` reads the body right away."""
        return cls(*_run_wsgi_app(app, environ, buffered))


def _encoded(chunks: Iterable[bytes | str], charset: str) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode(charset) if isinstance(chunk, str) else chunk


def _slice_chunks(chunks: Iterable[bytes], start: int, length: int) -> Iterator[bytes]:
    """Yield ``length`` bytes of a chunked body, starting ``start`` bytes in."""
    for chunk in chunks:
        if start >= len(chunk):
            start -= len(chunk)
            continue
        piece = chunk[start : start + length]
        start = 0
        length -= len(piece)
        yield piece
        if length <= 0:
            return


class _ClosingIterator:
    """A body iterator whose ``close`` (called by the server, per WSGI) runs ``on_close``."""

    __slots__ = ("_iterator", "_on_close")

    def __init__(self, iterable: Iterable[bytes], on_close: Callable[[], Any]) -> None:
        self._iterator = iter(iterable)
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        return self._iterator

    def __next__(self) -> bytes:
        return next(self._iterator)

    def close(self) -> None:
        self._on_close()
