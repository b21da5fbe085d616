"""Every byte value in a field name, a field value and a target: RFC 9110 decides, not llhttp.

These pin llhttp's strict-mode tables, which treadle.http.head relies on
instead of scanning each head again in Python.
"""

from __future__ import annotations

import string

import pytest

from treadle.http.connection import Connection
from treadle.http.errors import RemoteProtocolError
from treadle.http.events import Request

TCHAR = set(("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters).encode())
FIELD_VALUE_BYTES = {0x09} | set(range(0x20, 0x7F)) | set(range(0x80, 0x100))
TARGET_BYTES = set(range(0x21, 0x7F))  # visible ASCII; what else is valid is left to the app


def accepted(data: bytes) -> bool:
    conn = Connection()
    conn.receive_data(data)
    try:
        return isinstance(conn.next_event(), Request)
    except RemoteProtocolError:
        return False


def mismatches(template: bytes, allowed: set[int], skip: bytes = b"") -> list[int]:
    return [b for b in range(256)
            if b not in skip and accepted(template.replace(b"@", bytes([b]))) != (b in allowed)]


def test_field_name_bytes_are_exactly_the_token_characters() -> None:
    # ":" ends the name, so "X:Y: v" is the valid field X with value "Y: v".
    assert mismatches(b"GET / HTTP/1.1\r\nHost: a\r\nX@Y: v\r\n\r\n", TCHAR, skip=b":") == []


def test_field_value_bytes_are_exactly_vchar_obs_text_space_and_tab() -> None:
    assert mismatches(b"GET / HTTP/1.1\r\nHost: a\r\nX: a@b\r\n\r\n", FIELD_VALUE_BYTES) == []


@pytest.mark.parametrize("byte", [b for b in range(256) if b not in TARGET_BYTES])
def test_target_byte_outside_visible_ascii_is_rejected(byte: int) -> None:
    assert not accepted(b"GET /a%cb HTTP/1.1\r\nHost: a\r\n\r\n" % byte)
