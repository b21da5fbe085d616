"""Decoding a chunked request body (RFC 9112 section 7.1), strictly and incrementally.

Sizes are 1-16 hex digits with nothing around them unless an extension
follows; extensions are checked against the grammar and bounded with the
line; every chunk's data must end in CRLF; trailers obey the field rules.
"""

from __future__ import annotations

from typing import Final

from treadle.http.errors import RemoteProtocolError
from treadle.http.events import Data, EndOfMessage
from treadle.http.limits import Limits
from treadle.http.syntax import HEXDIGITS, check_block_bytes, is_chunk_extension, parse_field_block

__all__ = ["ChunkedDecoder"]

# The decoder's own small state table: what it expects next.
_SIZE: Final = "chunk size line"
_DATA: Final = "chunk data"
_DATA_END: Final = "CRLF after chunk data"
_TRAILERS: Final = "trailers"
_DONE: Final = "done"
_NEXT: Final = {_SIZE: (_DATA, _TRAILERS), _DATA: (_DATA_END,), _DATA_END: (_SIZE,),
                _TRAILERS: (_DONE,), _DONE: ()}

_MAX_SIZE_DIGITS: Final = 16


class ChunkedDecoder:
    """De-chunks one request body from the front of a connection's buffer."""

    __slots__ = ("_error", "_limits", "_received", "_remaining", "_state")

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._state = _SIZE
        self._remaining = 0
        self._received = 0
        self._error: RemoteProtocolError | None = None

    def _to(self, state: str) -> None:
        assert state in _NEXT[self._state], (self._state, state)
        self._state = state

    def read(self, buf: bytearray, max_body: int | None) -> Data | EndOfMessage | None:
        """Consume what ``buf`` holds; return all data found so far, the end, or None.

        An error found after some data is raised on the next call, so the body
        read before the error is the same however the bytes were split.
        """
        if self._error is not None:
            raise self._error
        pieces: list[bytes] = []
        try:
            return self._read(buf, max_body, pieces)
        except RemoteProtocolError as exc:
            if not pieces:
                raise
            self._error = exc
            return Data(b"".join(pieces))

    def _read(self, buf: bytearray, max_body: int | None,
              pieces: list[bytes]) -> Data | EndOfMessage | None:
        while True:
            state = self._state
            if state is _DATA:
                size = min(self._remaining, len(buf))
                if not size:
                    break
                if size == len(buf):
                    pieces.append(bytes(buf))
                    buf.clear()
                else:
                    pieces.append(bytes(buf[:size]))
                    del buf[:size]
                self._remaining -= size
                if not self._remaining:
                    self._to(_DATA_END)
            elif state is _DATA_END:
                if len(buf) < 2:
                    if buf and buf[0] != 0x0D:
                        raise RemoteProtocolError("missing CRLF after chunk data")
                    break
                if not buf.startswith(b"\r\n"):
                    raise RemoteProtocolError("missing CRLF after chunk data")
                del buf[:2]
                self._to(_SIZE)
            elif state is _SIZE:
                chunk_size = self._take_size(buf)
                if chunk_size is None:
                    break
                if chunk_size:
                    self._received += chunk_size
                    if max_body is not None and self._received > max_body:
                        raise RemoteProtocolError("request body too large", 413)
                    self._remaining = chunk_size
                    self._to(_DATA)
                else:
                    self._to(_TRAILERS)
            elif state is _TRAILERS:
                if pieces:
                    break  # hand the data out first; the trailers come with the next call
                trailers = self._take_trailers(buf)
                if trailers is None:
                    break
                self._to(_DONE)
                return EndOfMessage(trailers)
            else:
                raise AssertionError("read() after the end of a chunked body")
        if pieces:
            return Data(pieces[0] if len(pieces) == 1 else b"".join(pieces))
        return None

    def _take_size(self, buf: bytearray) -> int | None:
        limit = self._limits.max_chunk_line
        lf = buf.find(b"\n", 0, limit + 2)
        if lf < 0:
            if len(buf) > limit + 1:
                raise RemoteProtocolError("chunk size line too long")
            return None
        if lf == 0 or buf[lf - 1] != 0x0D:
            raise RemoteProtocolError("bare LF in chunk size line; lines must end with CRLF")
        line = bytes(buf[:lf - 1])
        del buf[:lf + 1]
        semi = line.find(b";")
        if semi >= 0:
            digits = line[:semi].rstrip(b" \t")
            if not is_chunk_extension(line[len(digits):]):
                raise RemoteProtocolError("invalid chunk extension")
        else:
            digits = line
        if not digits or len(digits) > _MAX_SIZE_DIGITS or digits.translate(None, HEXDIGITS):
            raise RemoteProtocolError("invalid chunk size; expected 1 to 16 hex digits")
        return int(digits, 16)

    def _take_trailers(self, buf: bytearray) -> list[tuple[bytes, bytes]] | None:
        if buf.startswith(b"\r\n"):
            del buf[:2]
            return []
        if not buf or buf == b"\r":
            return None
        limits = self._limits
        end = buf.find(b"\n\r\n")
        if end < 0:
            if buf[0] == 0x0A or b"\n\n" in buf:
                raise RemoteProtocolError("bare LF in trailers; lines must end with CRLF")
            if len(buf) > limits.max_trailers_size + 1:  # the complete block is longer still
                raise RemoteProtocolError("trailers too large", 431)
            return None
        end += 3
        if end - 2 > limits.max_trailers_size:
            raise RemoteProtocolError("trailers too large", 431)
        block = bytes(buf[:end])
        del buf[:end]
        if check_block_bytes(block, "trailers") - 1 > limits.max_headers:
            raise RemoteProtocolError("too many trailer fields", 431)
        return parse_field_block(block[:-4], "trailers")
