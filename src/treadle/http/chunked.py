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
from treadle.http.syntax import check_block_bytes, is_chunk_extension, parse_field_block

__all__ = ["ChunkedDecoder"]

# The decoder's states, in the only order it moves through them:
# SIZE -> DATA -> DATA_END -> SIZE ... SIZE (size 0) -> TRAILERS -> DONE.
_SIZE: Final = "chunk size line"
_DATA: Final = "chunk data"
_DATA_END: Final = "CRLF after chunk data"
_TRAILERS: Final = "trailers"
_DONE: Final = "done"

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

    def read(self, buf: bytearray, max_body: int | None) -> Data | EndOfMessage | None:
        """Consume what ``buf`` holds; return all data found so far, the end, or None.

        An error found after some data is raised on the next call, so the body
        read before the error is the same however the bytes were split.
        """
        if self._error is not None:
            raise self._error
        pieces: list[bytes] = []
        try:
            end = self._read(buf, max_body, pieces)
        except RemoteProtocolError as exc:
            if not pieces:
                raise
            self._error = exc
            return Data(b"".join(pieces))
        if pieces:
            return Data(pieces[0] if len(pieces) == 1 else b"".join(pieces))
        return end

    def _read(self, buf: bytearray, max_body: int | None,
              pieces: list[bytes]) -> EndOfMessage | None:
        """Walk the buffer from ``pos``, deleting what was consumed once, on the way out."""
        state = self._state
        pos = 0
        try:
            while True:
                if state is _DATA:
                    size = len(buf) - pos
                    if not size:
                        return None
                    remaining = self._remaining
                    if size >= remaining:
                        size = remaining
                        state = _DATA_END
                    pieces.append(bytes(buf[pos:pos + size]))
                    pos += size
                    self._remaining = remaining - size
                elif state is _DATA_END:
                    if len(buf) - pos < 2:
                        if len(buf) > pos and buf[pos] != 0x0D:
                            raise RemoteProtocolError("missing CRLF after chunk data")
                        return None
                    if buf[pos] != 0x0D or buf[pos + 1] != 0x0A:
                        raise RemoteProtocolError("missing CRLF after chunk data")
                    pos += 2
                    state = _SIZE
                elif state is _SIZE:
                    limit = self._limits.max_chunk_line
                    lf = buf.find(b"\n", pos, pos + limit + 2)
                    if lf < 0:
                        if len(buf) - pos > limit + 1:
                            raise RemoteProtocolError("chunk size line too long")
                        return None
                    if lf == pos or buf[lf - 1] != 0x0D:
                        raise RemoteProtocolError(
                            "bare LF in chunk size line; lines must end with CRLF")
                    size = _chunk_size(bytes(buf[pos:lf - 1]))
                    pos = lf + 1
                    if size:
                        self._received += size
                        if max_body is not None and self._received > max_body:
                            raise RemoteProtocolError("request body too large", 413)
                        self._remaining = size
                        state = _DATA
                    else:
                        state = _TRAILERS
                elif state is _TRAILERS:
                    if pieces:
                        return None  # hand the data out first; the trailers come next call
                    del buf[:pos]
                    pos = 0
                    trailers = self._take_trailers(buf)
                    if trailers is None:
                        return None
                    state = _DONE
                    return EndOfMessage(trailers)
                else:
                    raise AssertionError("read() after the end of a chunked body")
        finally:
            self._state = state
            if pos:
                del buf[:pos]

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


def _chunk_size(line: bytes) -> int:
    """The size from a chunk-size line (CRLF removed), its extensions checked."""
    semi = line.find(b";")
    if semi >= 0:
        digits = line[:semi].rstrip(b" \t")
        if not is_chunk_extension(line[len(digits):]):
            raise RemoteProtocolError("invalid chunk extension")
    else:
        digits = line
    # int() alone would also take a sign, "0x", "_" and spaces: isalnum() and the
    # prefix test leave only hex digits, which int() then checks.
    if digits.isalnum() and len(digits) <= _MAX_SIZE_DIGITS and digits[1:2] not in (b"x", b"X"):
        try:
            return int(digits, 16)
        except ValueError:
            pass
    raise RemoteProtocolError("invalid chunk size; expected 1 to 16 hex digits")
