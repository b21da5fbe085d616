"""The socket-free WSGI pieces: target splitting, header keys, wsgi.input, status checks."""

from __future__ import annotations

import email.utils
import time

import pytest

from treadle.server.wsgi import (
    InputStream,
    check_headers,
    check_status,
    environ_key,
    http_date,
    split_target,
)


class Pieces:
    """A body source that yields the given pieces, then b"" forever."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)
        self.calls = 0

    def read_body(self) -> bytes:
        self.calls += 1
        return self.pieces.pop(0) if self.pieces else b""


def test_path_is_percent_decoded_then_latin1() -> None:
    assert split_target(b"/caf%C3%A9/a%2Fb") == ("/caf\xc3\xa9/a/b", "", None)


def test_query_string_stays_raw() -> None:
    assert split_target(b"/p?a=%20b&c") == ("/p", "a=%20b&c", None)


def test_double_slash_target_is_a_path_not_an_authority() -> None:
    assert split_target(b"//evil.example/x?y") == ("//evil.example/x", "y", None)


def test_absolute_form_target_yields_its_path_and_host() -> None:
    assert split_target(b"http://example.com:8080/a/b?q=1") == ("/a/b", "q=1", "example.com:8080")
    assert split_target(b"http://example.com") == ("/", "", "example.com")


def test_asterisk_target_is_kept() -> None:
    assert split_target(b"*") == ("*", "", None)


def test_header_names_map_to_environ_keys() -> None:
    assert environ_key(b"X-Forwarded-For") == "HTTP_X_FORWARDED_FOR"
    assert environ_key(b"content-type") == "CONTENT_TYPE"
    assert environ_key(b"Content-Length") == "CONTENT_LENGTH"


def test_header_names_with_underscores_are_dropped() -> None:
    assert environ_key(b"X_Forwarded_For") == ""


def test_read_without_size_returns_the_whole_body() -> None:
    assert InputStream(Pieces(b"ab", b"cd")).read() == b"abcd"


def test_read_with_size_never_reads_more_pieces_than_needed() -> None:
    source = Pieces(b"abc", b"def")
    stream = InputStream(source)
    assert stream.read(2) == b"ab"
    assert source.calls == 1
    assert stream.read(3) == b"cde"
    assert stream.read(10) == b"f"
    assert stream.read(10) == b""


def test_readline_splits_across_pieces_and_honours_size() -> None:
    stream = InputStream(Pieces(b"ab", b"c\nde", b"f\ng"))
    assert stream.readline() == b"abc\n"
    assert stream.readline(2) == b"de"
    assert stream.readline() == b"f\n"
    assert stream.readline() == b"g"
    assert stream.readline() == b""


def test_readlines_and_iteration_yield_every_line() -> None:
    assert InputStream(Pieces(b"a\nb", b"\nc")).readlines() == [b"a\n", b"b\n", b"c"]
    assert list(InputStream(Pieces(b"x\ny\n"))) == [b"x\n", b"y\n"]


def test_readlines_stops_after_hint_bytes() -> None:
    assert InputStream(Pieces(b"aa\nbb\ncc\n")).readlines(2) == [b"aa\n"]


def test_status_must_be_code_space_reason() -> None:
    assert check_status("404 Not Found") == 404
    for bad in ("200", "20 OK", "abc OK", "200OK", "099 Low"):
        with pytest.raises(ValueError, match="three-digit code"):
            check_status(bad)
    with pytest.raises(TypeError, match="must be a str"):
        check_status(b"200 OK")


def test_interim_status_is_not_a_response() -> None:
    with pytest.raises(ValueError, match="interim status"):
        check_status("103 Early Hints")


def test_headers_must_be_a_list_of_str_pairs() -> None:
    check_headers([("A", "b")])
    with pytest.raises(TypeError, match="must be a list"):
        check_headers((("A", "b"),))
    with pytest.raises(TypeError, match="must be str"):
        check_headers([("A", b"b")])
    with pytest.raises(TypeError, match="tuple"):
        check_headers([["A", "b"]])


def test_http_date_is_imf_fixdate_of_now() -> None:
    value = http_date().decode("ascii")
    assert value.endswith(" GMT")
    parsed = email.utils.parsedate_to_datetime(value).timestamp()
    assert abs(parsed - time.time()) < 2
