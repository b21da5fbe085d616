"""Form bodies: urlencoded and multipart parsing, limits, malformed input, body streams."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from treadle.datastructures import FileStorage
from treadle.exceptions import BadRequest, ClientDisconnected, RequestEntityTooLarge
from treadle.formparser import (
    SPOOL_MAX_SIZE,
    FormDataParser,
    LimitedStream,
    get_content_length,
    get_input_stream,
    parse_form_data,
)
from treadle.wrappers import Request

EnvironFactory = Callable[..., dict[str, Any]]
BOUNDARY = "----treadleboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(*parts: tuple[str, str | None, bytes, str | None]) -> bytes:
    """Encode (name, filename, data, content_type) parts as a multipart body."""
    out = io.BytesIO()
    for name, filename, data, content_type in parts:
        out.write(f"--{BOUNDARY}\r\n".encode())
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.write(f"Content-Disposition: {disposition}\r\n".encode())
        if content_type:
            out.write(f"Content-Type: {content_type}\r\n".encode())
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def post(make_environ: EnvironFactory, body: bytes, content_type: str = MULTIPART) -> Request:
    return Request(make_environ(method="POST", body=body, content_type=content_type))


# --- urlencoded ----------------------------------------------------------------------------


def test_urlencoded_fields_and_repeats(make_environ: EnvironFactory) -> None:
    request = post(make_environ, b"a=1&b=x+y&a=2", "application/x-www-form-urlencoded")
    assert request.form.getlist("a") == ["1", "2"]
    assert request.form["b"] == "x y"


def test_urlencoded_keeps_blank_values(make_environ: EnvironFactory) -> None:
    assert post(make_environ, b"a=&b", "application/x-www-form-urlencoded").form.to_dict() == {
        "a": "",
        "b": "",
    }


def test_urlencoded_bad_percent_escapes_do_not_crash(make_environ: EnvironFactory) -> None:
    form = post(make_environ, b"a=%zz&b=%C3", "application/x-www-form-urlencoded").form
    assert form["a"] == "%zz"
    assert form["b"] == "\ufffd"


def test_urlencoded_over_memory_limit_is_413(make_environ: EnvironFactory) -> None:
    request = post(make_environ, b"a=" + b"x" * 100, "application/x-www-form-urlencoded")
    request.max_form_memory_size = 50
    with pytest.raises(RequestEntityTooLarge):
        _ = request.form


def test_urlencoded_too_many_fields_is_413(make_environ: EnvironFactory) -> None:
    body = "&".join(f"f{i}=1" for i in range(20)).encode()
    request = post(make_environ, body, "application/x-www-form-urlencoded")
    request.max_form_parts = 10
    with pytest.raises(RequestEntityTooLarge):
        _ = request.form


# --- multipart -----------------------------------------------------------------------------


def test_multipart_fields_and_files(make_environ: EnvironFactory) -> None:
    body = multipart(
        ("title", None, b"hello", None),
        ("upload", "notes.txt", b"file body", "text/plain"),
    )
    request = post(make_environ, body)
    assert request.form["title"] == "hello"
    upload = request.files["upload"]
    assert isinstance(upload, FileStorage)
    assert (upload.filename, upload.name, upload.mimetype) == ("notes.txt", "upload", "text/plain")
    assert upload.read() == b"file body"


def test_multipart_repeated_file_field(make_environ: EnvironFactory) -> None:
    body = multipart(("f", "a.txt", b"A", None), ("f", "b.txt", b"B", None))
    files = post(make_environ, body).files.getlist("f")
    assert [(f.filename, f.read()) for f in files] == [("a.txt", b"A"), ("b.txt", b"B")]


def test_multipart_utf8_field_and_filename(make_environ: EnvironFactory) -> None:
    body = multipart(("name", "\u00fcber.txt", b"x", None), ("t", None, "\u00e9".encode(), None))
    request = post(make_environ, body)
    assert request.files["name"].filename == "\u00fcber.txt"
    assert request.form["t"] == "\u00e9"


def test_multipart_field_charset_is_honoured(make_environ: EnvironFactory) -> None:
    body = multipart(("t", None, "\u00e9".encode("latin-1"), "text/plain; charset=latin-1"))
    assert post(make_environ, body).form["t"] == "\u00e9"


def test_multipart_empty_file_input(make_environ: EnvironFactory) -> None:
    body = multipart(("f", "", b"", "application/octet-stream"))
    upload = post(make_environ, body).files["f"]
    assert upload.filename == "" and not upload


def test_multipart_small_upload_stays_in_memory(make_environ: EnvironFactory) -> None:
    upload = post(make_environ, multipart(("f", "s.bin", b"x" * 10, None))).files["f"]
    assert upload.stream._rolled is False  # type: ignore[attr-defined]


def test_multipart_big_upload_spills_to_disk(make_environ: EnvironFactory) -> None:
    data = bytes(range(256)) * (2 * 1024 * 1024 // 256)
    request = post(make_environ, multipart(("f", "big.bin", data, "application/octet-stream")))
    upload = request.files["f"]
    assert len(data) > SPOOL_MAX_SIZE
    assert upload.stream._rolled is True  # type: ignore[attr-defined]
    assert upload.read() == data
    request.close()


def test_multipart_upload_is_saved_whole(make_environ: EnvironFactory, tmp_path: Any) -> None:
    data = b"0123456789" * 70_000
    upload = post(make_environ, multipart(("f", "x.bin", data, None))).files["f"]
    upload.save(tmp_path / "x.bin")
    assert (tmp_path / "x.bin").read_bytes() == data


def test_multipart_without_boundary_is_400(make_environ: EnvironFactory) -> None:
    request = post(make_environ, b"whatever", "multipart/form-data")
    with pytest.raises(BadRequest, match="boundary"):
        _ = request.form


def test_multipart_garbage_body_is_400(make_environ: EnvironFactory) -> None:
    request = post(make_environ, b"this is not multipart at all")
    with pytest.raises(BadRequest, match="multipart"):
        _ = request.form


def test_multipart_truncated_body_is_400(make_environ: EnvironFactory) -> None:
    body = multipart(("a", None, b"value", None))
    request = post(make_environ, body[: len(body) // 2 + 10])
    with pytest.raises(BadRequest, match="closing boundary"):
        _ = request.form


def test_multipart_part_without_disposition_is_400(make_environ: EnvironFactory) -> None:
    body = f"--{BOUNDARY}\r\nX-Other: 1\r\n\r\nvalue\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(BadRequest, match="Content-Disposition"):
        _ = post(make_environ, body).form


def test_multipart_too_many_parts_is_413(make_environ: EnvironFactory) -> None:
    body = multipart(*[(f"f{i}", None, b"1", None) for i in range(11)])
    request = post(make_environ, body)
    request.max_form_parts = 10
    with pytest.raises(RequestEntityTooLarge):
        _ = request.form


def test_multipart_fields_over_memory_limit_are_413(make_environ: EnvironFactory) -> None:
    request = post(make_environ, multipart(("a", None, b"x" * 1000, None)))
    request.max_form_memory_size = 100
    with pytest.raises(RequestEntityTooLarge):
        _ = request.form


def test_multipart_files_do_not_count_against_memory_limit(make_environ: EnvironFactory) -> None:
    request = post(make_environ, multipart(("f", "a.bin", b"x" * 1000, None)))
    request.max_form_memory_size = 100
    assert request.files["f"].read() == b"x" * 1000


def test_max_content_length_is_413_before_reading(make_environ: EnvironFactory) -> None:
    environ = make_environ(method="POST", body=b"x" * 100, content_type=MULTIPART)
    request = Request(environ)
    request.max_content_length = 10
    with pytest.raises(RequestEntityTooLarge):
        _ = request.form
    assert environ["wsgi.input"].tell() == 0


def test_multipart_client_disconnect_is_400(make_environ: EnvironFactory) -> None:
    body = multipart(("a", None, b"value", None))
    environ = make_environ(method="POST", body=body, content_type=MULTIPART)
    environ["CONTENT_LENGTH"] = str(len(body) + 100)
    with pytest.raises(ClientDisconnected):
        _ = Request(environ).form


def test_parse_form_data_without_a_request(make_environ: EnvironFactory) -> None:
    environ = make_environ(
        method="POST", body=b"a=1", content_type="application/x-www-form-urlencoded"
    )
    _, form, files = parse_form_data(environ)
    assert form["a"] == "1" and not files


def test_form_data_parser_leaves_other_types_alone() -> None:
    stream = io.BytesIO(b"{}")
    returned, form, files = FormDataParser().parse(stream, "application/json", 2)
    assert returned is stream and not form and not files
    assert stream.read() == b"{}"


# --- body streams --------------------------------------------------------------------------


def test_limited_stream_stops_at_limit() -> None:
    stream = LimitedStream(io.BytesIO(b"abcdef"), 4)
    assert stream.read(3) == b"abc"
    assert stream.read() == b"d"
    assert stream.read() == b""


def test_limited_stream_readline_respects_limit() -> None:
    stream = LimitedStream(io.BytesIO(b"ab\ncd\nef"), 5)
    assert stream.readline() == b"ab\n"
    assert stream.readline() == b"cd"


def test_limited_stream_early_eof_is_client_disconnected() -> None:
    with pytest.raises(ClientDisconnected):
        LimitedStream(io.BytesIO(b"ab"), 5).read()


def test_limited_stream_as_max_ends_at_eof() -> None:
    assert LimitedStream(io.BytesIO(b"ab"), 5, is_max=True).read() == b"ab"


def test_limited_stream_as_max_rejects_more_data() -> None:
    with pytest.raises(RequestEntityTooLarge):
        LimitedStream(io.BytesIO(b"abcdef"), 5, is_max=True).read()


def test_get_content_length_ignores_chunked_and_junk() -> None:
    assert get_content_length({"CONTENT_LENGTH": "12"}) == 12
    assert get_content_length({"CONTENT_LENGTH": "12", "HTTP_TRANSFER_ENCODING": "chunked"}) is None
    assert get_content_length({"CONTENT_LENGTH": "1e3"}) is None


def test_get_input_stream_without_length_is_empty() -> None:
    assert get_input_stream({"wsgi.input": io.BytesIO(b"data")}).read() == b""


class ShortReads(io.BytesIO):
    """An input that returns at most 3 bytes per read, as a socket might."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(3 if size is None or size < 0 else min(size, 3))


def test_urlencoded_survives_short_reads(make_environ: EnvironFactory) -> None:
    body = b"alpha=1&beta=2&gamma=3"
    environ = make_environ(
        method="POST", body=body, content_type="application/x-www-form-urlencoded"
    )
    environ["wsgi.input"] = ShortReads(body)
    assert Request(environ).form.to_dict() == {"alpha": "1", "beta": "2", "gamma": "3"}


def test_multipart_survives_short_reads(make_environ: EnvironFactory) -> None:
    body = multipart(("a", None, b"value", None), ("f", "x.txt", b"data" * 10, None))
    environ = make_environ(method="POST", body=body, content_type=MULTIPART)
    environ["wsgi.input"] = ShortReads(body)
    request = Request(environ)
    assert request.form["a"] == "value" and request.files["f"].read() == b"data" * 10


# --- never crash on client input (property tests) ----------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from treadle.exceptions import HTTPException  # noqa: E402

_VALID = multipart(("a", None, b"value", None), ("f", "x.txt", b"data", "text/plain"))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.integers(0, len(_VALID)).map(lambda n: _VALID[:n]))
def test_any_multipart_body_parses_or_is_a_4xx(body: bytes) -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": MULTIPART,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    request = Request(environ)
    try:
        _ = request.form, request.files
    except HTTPException as error:
        assert error.code in (400, 413)
    finally:
        request.close()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_urlencoded_body_parses(body: bytes) -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    assert isinstance(Request(environ).form.to_dict(), dict)
