"""One HTTP/1.1 connection, sans-IO: bytes in, events out; response parts in, bytes out.

Our choices where RFC 9112 leaves one: any repeated Content-Length is 400, even
identical ones; Transfer-Encoding must end in ``chunked`` (400), other codings
before it are not implemented (501), and it is refused with Content-Length or in
HTTP/1.0 (400); a duplicate or (on 1.1) missing Host is 400; HTTP/2+ and 0.x get
505; CONNECT is 400 (not a proxy); ``*`` is for OPTIONS only; Upgrade is ignored.
Bare CR/LF, controls and obs-fold are 400 (llhttp strict mode, pinned by tests).
A RemoteProtocolError is raised again on every later call and nothing buffered
behind it is parsed; the server answers once with ``error_response``. States
move only along the tables in :mod:`treadle.http.state`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from treadle.http import state as st
from treadle.http.chunked import ChunkedDecoder
from treadle.http.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from treadle.http.events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Request,
    _Sentinel,
)
from treadle.http.head import HeadParser
from treadle.http.limits import Limits
from treadle.http.response import (
    CHUNKED,
    LENGTH,
    NO_BODY,
    UNTIL_CLOSE,
    error_head,
    frame_response,
)
from treadle.http.state import (
    CHUNKED_BODY,
    CLOSED,
    HEAD,
    IDLE,
    LENGTH_BODY,
    RECV_DONE,
    SEND_BODY,
    SEND_DONE,
)

__all__ = ["Connection"]

_DEFAULT_LIMITS: Final = Limits()
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_LAST_CHUNK: Final = b"0\r\n\r\n"
_CLOSED: Final = ConnectionClosed()

# The state tables, sliced per trigger (see treadle.http.state).
_RECV_REQUEST_LENGTH: Final = st.after(st.RECV, st.REQUEST_LENGTH)
_RECV_REQUEST_CHUNKED: Final = st.after(st.RECV, st.REQUEST_CHUNKED)
_RECV_END: Final = st.after(st.RECV, st.END_OF_MESSAGE)
_RECV_CLOSED: Final = st.after(st.RECV, st.PEER_CLOSED)
_RECV_ERROR: Final = st.after(st.RECV, st.PEER_ERROR)
_RECV_NEXT: Final = st.after(st.RECV, st.NEXT_CYCLE)
_SEND_INTERIM: Final = st.after(st.SEND, st.INTERIM)
_SEND_RESPONSE: Final = st.after(st.SEND, st.RESPONSE)
_SEND_END: Final = st.after(st.SEND, st.END)
_SEND_FRAMING_ERROR: Final = st.after(st.SEND, st.FRAMING_ERROR)
_SEND_NEXT: Final = st.after(st.SEND, st.NEXT_CYCLE)


class Connection:
    """The protocol state of one client connection; the server owns the socket."""

    __slots__ = (
        "_buf", "_chunked", "_continue_sent", "_eof", "_error", "_framing", "_head",
        "_limits", "_max_body", "_recv", "_remaining", "_request", "_send", "_to_send",
        "keep_alive",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits = limits if limits is not None else _DEFAULT_LIMITS
        self._buf = bytearray()
        self._eof = False
        self._head = HeadParser(limits)
        self._recv = HEAD
        self._send = IDLE
        self._error: RemoteProtocolError | None = None
        self._request: Request | None = None
        self._remaining = 0
        self._chunked: ChunkedDecoder | None = None
        self._max_body = limits.max_body
        self._continue_sent = False
        self._framing = NO_BODY
        self._to_send: int | None = None
        self.keep_alive = True
        """May this connection serve another request after the current cycle?"""

    # -- receiving ---------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``b""`` means the peer closed its sending side."""
        if data:
            if self._eof:
                raise LocalProtocolError("receive_data() called with data after EOF")
            if self._error is None:  # after an error, input is only ever discarded
                self._buf += data
        else:
            self._eof = True

    def next_event(self) -> Event:
        """The next event, NEED_DATA, or PAUSED once a request is complete.

        Raises RemoteProtocolError for bad input, and again on every later call.
        """
        recv = self._recv
        try:
            if recv is HEAD:
                return self._next_request()
            if recv is LENGTH_BODY:
                return self._next_length_body()
            if recv is CHUNKED_BODY:
                return self._next_chunked_body()
        except RemoteProtocolError as exc:
            self._fail(exc)
            raise
        if recv is RECV_DONE:
            return PAUSED
        if recv is CLOSED:
            return _CLOSED
        assert self._error is not None
        raise self._error.with_traceback(None)

    def _fail(self, error: RemoteProtocolError) -> None:
        self._recv = _RECV_ERROR[self._recv]
        self._error = error
        self.keep_alive = False
        self._buf.clear()  # nothing behind a bad request is ever looked at

    def _next_request(self) -> Request | ConnectionClosed | _Sentinel:
        buf = self._buf
        request = self._head.take(buf) if buf else None
        if request is None:
            if not self._eof:
                return NEED_DATA
            if buf:
                raise RemoteProtocolError("incomplete request")
            self._recv = _RECV_CLOSED[self._recv]
            self.keep_alive = False
            return _CLOSED
        self._request = request
        self.keep_alive = request.keep_alive
        if request.chunked:
            self._chunked = ChunkedDecoder(self._limits)
            self._recv = _RECV_REQUEST_CHUNKED[self._recv]
        else:
            self._remaining = request.content_length or 0
            self._recv = _RECV_REQUEST_LENGTH[self._recv]
        return request

    def _next_length_body(self) -> Data | EndOfMessage | _Sentinel:
        remaining = self._remaining
        if not remaining:
            self._recv = _RECV_END[self._recv]
            return EndOfMessage([])
        max_body = self._max_body
        if max_body is not None and self._request is not None and (
                self._request.content_length or 0) > max_body:
            raise RemoteProtocolError("request body too large", 413)
        buf = self._buf
        size = len(buf)
        if not size:
            if self._eof:
                raise RemoteProtocolError("incomplete request")
            return NEED_DATA
        if size <= remaining:
            data = bytes(buf)
            buf.clear()
        else:
            data = bytes(buf[:remaining])
            del buf[:remaining]
            size = remaining
        self._remaining = remaining - size
        return Data(data)

    def _next_chunked_body(self) -> Data | EndOfMessage | _Sentinel:
        assert self._chunked is not None
        event = self._chunked.read(self._buf, self._max_body)
        if event is None:
            if self._eof:
                raise RemoteProtocolError("incomplete request")
            return NEED_DATA
        if type(event) is EndOfMessage:
            self._recv = _RECV_END[self._recv]
            self._chunked = None
        return event

    def set_max_body(self, max_body: int | None) -> None:
        """Override the body limit for the current request, before its body is read."""
        self._max_body = max_body

    # -- sending -----------------------------------------------------------

    def send_continue(self) -> bytes:
        """``100 Continue`` once, if the request asked for it and no response started yet."""
        request = self._request
        if (request is None or not request.expect_continue or self._continue_sent
                or self._send is not IDLE
                or self._recv not in (LENGTH_BODY, CHUNKED_BODY)):
            return b""
        if self._max_body is not None and (request.content_length or 0) > self._max_body:
            return b""  # the body will be refused (413): don't invite the client to send it
        self._continue_sent = True
        return _CONTINUE

    def send_response(self, status: int, reason: bytes,
                      headers: list[tuple[bytes, bytes]]) -> bytes:
        """Encode a response head; a 1xx head leaves the final response still to come."""
        transition = (_SEND_INTERIM if status < 200 else _SEND_RESPONSE).get(self._send)
        if transition is None:
            raise LocalProtocolError(f"cannot send a response head in state {self._send}; "
                                     "one response per request, after the request head")
        request = self._request
        head, framing, content_length, keep_alive = frame_response(status, reason, headers, request)
        if status < 200:
            if request is None or request.http_version != "1.1":
                return b""  # HTTP/1.0 clients do not understand interim responses
            if status == 100:
                self._continue_sent = True
            return head
        self._send = transition
        self._framing = framing
        self._to_send = content_length
        if not keep_alive:
            self.keep_alive = False
        return head

    def send_data(self, data: bytes) -> bytes:
        """Frame a piece of the body; raises LocalProtocolError past Content-Length."""
        if self._send is not SEND_BODY:
            raise LocalProtocolError(f"cannot send body data in state {self._send}; "
                                     "call send_response() first")
        framing = self._framing
        if framing is LENGTH:
            assert self._to_send is not None
            if len(data) > self._to_send:
                self._send = _SEND_FRAMING_ERROR[self._send]
                self.keep_alive = False
                raise LocalProtocolError(
                    f"response body is longer than its Content-Length ({len(data) - self._to_send} "
                    "bytes too many); fix the Content-Length header or the body")
            self._to_send -= len(data)
            return data
        if framing is CHUNKED:
            if not data:
                return b""  # an empty chunk would end the body
            return b"".join((b"%x\r\n" % len(data), data, b"\r\n"))
        if framing is NO_BODY:
            return b""
        return data

    def sent_out_of_band(self, size: int) -> None:
        """Count ``size`` body bytes the caller wrote to the socket itself (``sendfile``).

        Only a Content-Length or until-close body can be sent that way: chunked
        framing must wrap every piece. Raises LocalProtocolError past Content-Length.
        """
        if self._send is not SEND_BODY:
            raise LocalProtocolError(f"cannot send body data in state {self._send}; "
                                     "call send_response() first")
        framing = self._framing
        if framing is LENGTH:
            assert self._to_send is not None
            if size > self._to_send:
                self._send = _SEND_FRAMING_ERROR[self._send]
                self.keep_alive = False
                raise LocalProtocolError(
                    f"response body is longer than its Content-Length ({size - self._to_send} "
                    "bytes too many); fix the Content-Length header or the file range")
            self._to_send -= size
        elif framing is not UNTIL_CLOSE and size:
            raise LocalProtocolError(
                f"a {framing} response body cannot be sent out of band; use send_data()")

    def send_end(self) -> bytes:
        """Finish the body: the last chunk, or b"". A short body ends keep-alive."""
        send = _SEND_END.get(self._send)
        if send is None:
            raise LocalProtocolError(f"cannot end the response in state {self._send}")
        self._send = send
        framing = self._framing
        if framing is CHUNKED:
            return _LAST_CHUNK
        if framing is LENGTH and self._to_send:
            self.keep_alive = False  # the client is still waiting for bytes that never come
        return b""

    def error_response(self, error: ProtocolError,
                       headers: Iterable[tuple[bytes, bytes]] = ()) -> bytes:
        """A complete short text/plain response for ``error`` that closes the connection.

        ``headers`` (e.g. Server, Date) are added as given. Returns b"" if a
        response head was already sent: then closing is the only answer left.
        """
        self.keep_alive = False
        if self._send is not IDLE:
            return b""
        self._send = SEND_DONE
        body = error.message.encode("utf-8", "replace") + b"\n"
        head = error_head(error.status, len(body))
        extra = b"".join([name + b": " + value + b"\r\n" for name, value in headers])
        if extra:
            head = head[:-2] + extra + b"\r\n"
        return head + body

    # -- cycle -------------------------------------------------------------

    def start_next_cycle(self) -> None:
        """Reset for the next request once both the request and the response are complete."""
        if self._recv is not RECV_DONE or self._send is not SEND_DONE or not self.keep_alive:
            raise LocalProtocolError(
                f"cannot start a new cycle (request {self._recv}, response {self._send}, "
                f"keep_alive={self.keep_alive}); finish both sides or close the connection")
        self._recv = _RECV_NEXT[self._recv]
        self._send = _SEND_NEXT[self._send]
        self._request = None
        self._continue_sent = False
        self._max_body = self._limits.max_body
