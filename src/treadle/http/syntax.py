"""RFC 9110/9112 grammar as precomputed byte tables and small pure checks.

Every check works on a whole value or block at once (``bytes.translate`` and
``count``), never byte by byte in Python; the rare chunk-extension grammar is
the only regular expression in the package and is off the hot path.
"""

from __future__ import annotations

import re
import string

from treadle.http.errors import RemoteProtocolError

__all__ = [
    "TCHAR",
    "check_block_bytes",
    "is_chunk_extension",
    "is_token",
    "parse_field_block",
    "token_list",
]

TCHAR = ("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters).encode("ascii")
"""Bytes allowed in a token (method, field name, coding, chunk-extension name)."""

# Bytes that may appear anywhere in a head or trailer block: HTAB, CR, LF,
# visible ASCII, SP and obs-text. Deleting these leaves only the forbidden ones
# (NUL and the other controls, DEL).
_BLOCK_BYTES = b"\t\r\n" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))


def is_token(value: bytes) -> bool:
    """True when ``value`` is a non-empty RFC 9110 token."""
    return bool(value) and not value.translate(None, TCHAR)


def check_block_bytes(block: bytes, what: str) -> int:
    """Reject control bytes, bare CR/LF and obs-fold in a block of field lines.

    Returns the number of CRLF-terminated lines. ``what`` names the block in
    the error (e.g. "trailers"); request heads get these checks from llhttp.
    """
    if block.translate(None, _BLOCK_BYTES):
        raise RemoteProtocolError(f"control character in {what}")
    lines = block.count(b"\r\n")
    if block.count(b"\r") != lines or block.count(b"\n") != lines:
        raise RemoteProtocolError(f"bare CR or LF in {what}; lines must end with CRLF")
    if b"\n " in block or b"\n\t" in block:
        raise RemoteProtocolError(f"obsolete line folding in {what}")
    return lines


def parse_field_block(block: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """Split a block of ``name: value`` CRLF lines (no empty final line) into fields.

    The block must already have passed :func:`check_block_bytes`. Used for
    chunked trailers; request heads go through httptools instead.
    """
    fields: list[tuple[bytes, bytes]] = []
    for line in block.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon or not is_token(name):
            raise RemoteProtocolError(f"invalid field line in {what}")
        fields.append((name, value.strip(b" \t")))
    return fields


def token_list(value: bytes) -> list[bytes]:
    """Split a comma-separated list of tokens, lower-cased, dropping empty members.

    Members that are not tokens are kept as they are, so callers can reject them.
    """
    return [member for part in value.lower().split(b",") if (member := part.strip(b" \t"))]


_TOKEN_RE = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED_RE = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
_CHUNK_EXT = re.compile(
    rb"(?:[ \t]*;[ \t]*" + _TOKEN_RE
    + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN_RE + rb"|" + _QUOTED_RE + rb"))?)+[ \t]*"
)


def is_chunk_extension(ext: bytes) -> bool:
    """True for ``*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )``."""
    return _CHUNK_EXT.fullmatch(ext) is not None
