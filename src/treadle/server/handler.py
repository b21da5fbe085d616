"""Runs the WSGI app for each request on a connection: environ, start_response, write, logs.

One :class:`WSGIRequestHandler` serves every request of one connection, on
whichever thread holds the connection. Subclass it and pass it as
``request_handler=`` to change the server name, the environ or the logging.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from treadle import __version__
from treadle.http.errors import ProtocolError
from treadle.http.events import Request
from treadle.server.wsgi import (
    ClientDisconnected,
    FileWrapper,
    InputStream,
    RequestBodyError,
    check_headers,
    check_status,
    environ_key,
    http_date,
    split_target,
)

if TYPE_CHECKING:
    from treadle.server.base import BaseServer
    from treadle.server.channel import Channel

__all__ = ["WSGIRequestHandler", "logger"]

logger = logging.getLogger("treadle.serving")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
WriteCallable = Callable[[bytes], None]

_PROTOCOLS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}
_ENVIRON_KEYS = {b"Host": "HTTP_HOST", b"host": "HTTP_HOST"}
_JOIN = {"HTTP_COOKIE": "; "}
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}
# Control characters in a logged request line could drive a terminal.
_LOG_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7f, 0xa0))}
_COLOUR = sys.stderr.isatty() and "NO_COLOR" not in os.environ
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")


def _style(code: int) -> str:
    if code >= 500:
        return "\x1b[1;35m"
    if code >= 400:
        return "\x1b[33m" if code == 404 else "\x1b[1;31m"
    if code == 304:
        return "\x1b[36m"
    if code >= 300:
        return "\x1b[32m"
    return ""


class WSGIRequestHandler:
    """Serves the requests of one connection through the WSGI app.

    Hook points for subclasses (pass the subclass as ``request_handler=``):

    * ``server_version`` -- the ``Server`` header and ``SERVER_SOFTWARE``
      (a class attribute or a property).
    * ``make_environ()`` -- the environ for ``self.head``; extend it by calling
      ``super().make_environ()`` and adding keys.
    * ``log_request(code, size)`` -- one access-log line per response. The base
      class formats it only when the ``treadle.serving`` logger is enabled for
      INFO; an override is always called.
    * ``log_error(format, *args)`` -- server-side problems (app exceptions,
      rejected requests).
    * ``log(type, message, *args)`` -- where every line goes: ``type`` is a
      logging level name, ``message`` a %-format.

    Useful attributes: ``server``, ``client_address``, ``head`` (the current
    :class:`treadle.http.events.Request`), ``environ``, and the Werkzeug-style
    ``command``, ``path``, ``request_version`` and ``requestline``.
    """

    server_version: str = f"treadle/{__version__}"

    def __init__(self, server: BaseServer, channel: Channel, client_address: Any) -> None:
        self.server = server
        self.channel = channel
        if not isinstance(client_address, tuple):  # Unix sockets have no peer address
            client_address = ("<local>", 0)
        self.client_address: tuple[Any, ...] = client_address
        self.head: Request | None = None
        self.environ: dict[str, Any] = {}
        self.server_header = (b"Server", str(self.server_version).encode("latin-1"))
        self._base_environ: dict[str, Any] | None = None
        self._log_always = type(self).log_request is not WSGIRequestHandler.log_request
        self._reset()

    def _reset(self) -> None:
        self._status: str | None = None
        self._code = 0
        self._headers: list[tuple[str, str]] = []
        self._started = False  # the connection accepted our response head
        self._sent = False  # bytes of the response reached the socket
        self._size = 0
        self._close = False

    # -- Werkzeug-style views of the request ------------------------------------

    @property
    def command(self) -> str:
        return self.head.method if self.head is not None else "-"

    @property
    def path(self) -> str:
        return self.head.target.decode("latin-1") if self.head is not None else "-"

    @property
    def request_version(self) -> str:
        if self.head is None:
            return "-"
        return _PROTOCOLS.get(self.head.http_version) or f"HTTP/{self.head.http_version}"

    @property
    def requestline(self) -> str:
        if self.head is None:
            return "-"
        return f"{self.command} {self.path} {self.request_version}"

    # -- the environ ---------------------------------------------------------------

    def make_environ(self) -> dict[str, Any]:
        """The WSGI environ for ``self.head``."""
        head = self.head
        assert head is not None
        base = self._base_environ
        if base is None:
            base = self._base_environ = self._connection_environ()
        environ = base.copy()
        path, query, host = split_target(head.target)
        environ["REQUEST_METHOD"] = head.method
        environ["PATH_INFO"] = path
        environ["QUERY_STRING"] = query
        environ["REQUEST_URI"] = environ["RAW_URI"] = head.target.decode("latin-1")
        environ["SERVER_PROTOCOL"] = (_PROTOCOLS.get(head.http_version)
                                      or f"HTTP/{head.http_version}")
        environ["wsgi.input"] = InputStream(self.channel)
        keys = _ENVIRON_KEYS
        for name, raw in head.headers:
            key = keys.get(name) or environ_key(name)
            if not key:
                continue
            value = raw.decode("latin-1")
            if key in environ:
                value = environ[key] + _JOIN.get(key, ", ") + value
            environ[key] = value
        if host is not None:
            environ["HTTP_HOST"] = host
        return environ

    def _connection_environ(self) -> dict[str, Any]:
        environ = self.server.base_environ.copy()
        environ["SERVER_SOFTWARE"] = str(self.server_version)
        environ["REMOTE_ADDR"] = str(self.client_address[0])
        environ["REMOTE_PORT"] = str(self.client_address[1])
        environ["wsgi.errors"] = sys.stderr
        return environ

    # -- the WSGI call ---------------------------------------------------------------

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: ExcInfo | None = None) -> WriteCallable:
        """PEP 3333's start_response: record the status and headers, return ``write``."""
        if exc_info is not None:
            try:
                if self._sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self._status is not None:
            raise AssertionError(
                "start_response() was called twice; pass exc_info to replace the "
                "response after an error")
        self._code = check_status(status)
        check_headers(headers)
        self._status = status
        self._headers = headers
        return self.write

    def write(self, data: bytes) -> None:
        """PEP 3333's write(): send ``data`` now, sending the head first if needed."""
        if type(data) is not bytes:
            if isinstance(data, bytes | bytearray | memoryview):
                data = bytes(data)
            else:
                raise TypeError(f"the response body must be bytes, got {type(data).__name__}; "
                                "encode text before returning or writing it")
        if self._sent:
            if data:
                self.channel.send(self.channel.conn.send_data(data))
                self._size += len(data)
        elif data:
            self._send_head(data, False)

    def handle(self, head: Request) -> bool:
        """Serve one request; True if the connection may serve another."""
        self.head = head
        self._reset()
        channel = self.channel
        server = self.server
        result: Iterable[bytes] | None = None
        try:
            self.environ = environ = self.make_environ()
            result = server.app(environ, self.start_response)
            self._send_result(result)
        except ClientDisconnected as exc:
            self._close = True
            self.log("debug", "%s", exc)
        except RequestBodyError as exc:
            self._close = True
            self.log("info", "%s: %s", self.requestline, exc)
            self._send_error(exc.status, str(exc))
        except Exception as exc:
            self._close = True
            if server.passthrough_errors:
                raise
            self.log_error("Error on request %s:\n%s", self.requestline,
                           _format_exception(exc))
            self._send_error(500, "Internal Server Error")
        finally:
            if result is not None:
                close = getattr(result, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception as exc:
                        self._close = True
                        if server.passthrough_errors:
                            raise
                        self.log_error("Error closing the response of %s:\n%s",
                                       self.requestline, _format_exception(exc))
        if self._log_always or logger.isEnabledFor(logging.INFO):
            self.log_request(self._code, self._size if self._size else "-")
        return not self._close and channel.conn.keep_alive and channel.drain(
            server.config.max_drain)

    def _send_result(self, result: Iterable[bytes]) -> None:
        if type(result) is list or type(result) is tuple:
            if not self._sent:
                try:
                    body = b"".join(result)
                except TypeError:
                    raise TypeError("the app must return an iterable of bytes; encode text "
                                    "before returning it") from None
                self._send_head(body, True)
                return
        elif type(result) is FileWrapper and self._send_file(result):
            return
        for chunk in result:
            if chunk:
                self.write(chunk)
        if self._sent:
            self.channel.send(self.channel.conn.send_end())
        else:
            self._send_head(b"", True)

    def _send_file(self, wrapper: FileWrapper) -> bool:
        """Send a file by ``sendfile``; False to fall back to iterating it."""
        if self._sent or self.channel.tls or self._status is None:
            return False
        file = wrapper.filelike
        length = None
        for name, value in self._headers:
            if name.lower() == "content-length":
                value = value.strip()
                length = int(value) if value.isdigit() else None
        try:
            file.fileno()
            offset = file.tell()
        except (AttributeError, OSError, ValueError):
            return False
        if length is None:
            return False
        self._send_head(b"", False)
        conn = self.channel.conn
        if self.head is not None and self.head.method != "HEAD" and length:
            sent = self.channel.sendfile(file, offset, length)
            self._size = sent
            conn.sent_out_of_band(sent)  # framing is counted, so keep-alive survives
            if sent != length:
                raise ClientDisconnected("the file ended before its Content-Length")
        self.channel.send(conn.send_end())
        return True

    def _send_head(self, body: bytes, end: bool) -> None:
        if self._status is None:
            raise AssertionError("the app sent a body before calling start_response()")
        server = self.server
        headers: list[tuple[bytes, bytes]] = []
        has_length = has_date = has_server = False
        declared = None
        for name, value in self._headers:
            try:
                item = (name.encode("latin-1"), value.encode("latin-1"))
            except UnicodeEncodeError:
                raise ValueError(
                    f"the response header {name!r} is not latin-1; encode non-ASCII values "
                    "(e.g. RFC 8187 or percent-encoding) before start_response()") from None
            headers.append(item)
            lower = name.lower()
            if lower == "content-length":
                has_length = True
                declared = value
            elif lower == "transfer-encoding":
                has_length = True
            elif lower == "date":
                has_date = True
            elif lower == "server":
                has_server = True
        if not has_server:
            headers.append(self.server_header)
        if not has_date:
            headers.append((b"Date", http_date()))
        code = self._code
        if end and code >= 200 and code != 204 and code != 304:
            if not has_length:
                # An empty answer to HEAD says nothing about the GET body's length.
                if body or self.head is None or self.head.method != "HEAD":
                    headers.append((b"Content-Length", str(len(body)).encode("ascii")))
            elif (declared is not None and declared.strip() != str(len(body))
                    and self.head is not None and self.head.method != "HEAD"):
                # Caught before the head is framed, so the client still gets a clean 500.
                raise ValueError(f"the response declares Content-Length {declared} but its "
                                 f"body has {len(body)} bytes; fix the header or the body")
        channel = self.channel
        if (server.stopping or channel.requests >= server.config.max_keepalive_requests
                or (channel.body_pending and self.head is not None
                    and not channel.will_drain(server.config.max_drain, self.head))):
            self._close = True
        if self._close:
            headers.append((b"Connection", b"close"))
        conn = channel.conn
        status = self._status
        data = conn.send_response(code, status[4:].encode("latin-1"), headers)
        self._started = True
        if body:
            data += conn.send_data(body)
            self._size += len(body)
        if end:
            data += conn.send_end()
        self._sent = True
        channel.send(data)

    def _send_error(self, code: int, message: str) -> None:
        """Answer with a short plain-text error if no response head was sent yet."""
        if self._started:
            return
        data = self.channel.conn.error_response(
            ProtocolError(message, code), (self.server_header, (b"Date", http_date())))
        if data:
            self._code = code
            self._started = self._sent = True
            self._size = len(message) + 1
            with contextlib.suppress(ClientDisconnected):
                self.channel.send(data)

    # -- logging -----------------------------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One access-log line in the common log format."""
        line = self.requestline.translate(_LOG_ESCAPES)
        if _COLOUR and isinstance(code, int) and (style := _style(code)):
            line = f"{style}{line}\x1b[0m"
        self.log("info", '"%s" %s %s', line, code, size)

    def log_error(self, format: str, *args: Any) -> None:
        """A server-side problem worth an operator's attention."""
        self.log("error", format, *args)

    def log(self, type: str, message: str, *args: Any) -> None:
        """Send a line to the ``treadle.serving`` logger, prefixed like an access log."""
        level = _LEVELS.get(type, logging.INFO)
        if logger.isEnabledFor(level):
            logger.log(level, "%s - - [%s] " + message, self.client_address[0], _log_time(),
                       *args)


def _log_time() -> str:
    t = time.localtime()
    offset = t.tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    offset = abs(offset)
    return (f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:"
            f"{t.tm_sec:02d} {sign}{offset // 60:02d}{offset % 60:02d}")


def _format_exception(exc: BaseException) -> str:
    import traceback

    return "".join(traceback.format_exception(exc)).rstrip()
