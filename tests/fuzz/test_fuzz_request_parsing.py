"""Property tests: what a client controls in a request parses to a value or a 4xx, nothing else.

Query strings, cookies, urlencoded and multipart forms, JSON bodies and the Range,
Accept and If-None-Match headers are read through :class:`Request`, as a view
reads them. Well-formed inputs must read back exactly; arbitrary and mutated ones
must give a value or an HTTPException with a documented 4xx code; large ones must
stay within bounded memory. Bounded for CI: set ``TREADLE_FUZZ_EXAMPLES`` (e.g.
20000) to search longer, or run ``fuzz/run.py --minutes N``.
"""

from __future__ import annotations

import io
import json
import os
import time
import tracemalloc
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from treadle.datastructures import FileStorage
from treadle.exceptions import HTTPException
from treadle.http.limits import Limits
from treadle.httputil import dump_cookie, quote_etag, quote_header_value
from treadle.wrappers import Request

T = TypeVar("T")

EXAMPLES = int(os.environ.get("TREADLE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=1000,
                derandomize="TREADLE_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

FORM = "application/x-www-form-urlencoded"
BAD_BODY = frozenset({400, 413})  # what Request documents for form bodies


def environ(*, query: bytes = b"", body: bytes | None = None, content_type: str | None = None,
            headers: dict[str, bytes] | None = None, stream: Any = None,
            length: int | None = None) -> dict[str, Any]:
    """A WSGI environ as treadle's server builds it: header bytes arrive latin-1 decoded."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST" if body is not None or stream is not None else "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": stream if stream is not None else io.BytesIO(body or b""),
    }
    if body is not None or length is not None:
        env["CONTENT_LENGTH"] = str(len(body or b"") if length is None else length)
    if content_type is not None:
        env["CONTENT_TYPE"] = content_type
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value.decode("latin-1")
    return env


def documented(read: Callable[[], T], codes: Iterable[int]) -> T | HTTPException:
    """Call ``read``; an HTTPException is allowed only with one of ``codes``."""
    try:
        return read()
    except HTTPException as error:
        assert error.code in set(codes), f"undocumented {error.code}: {error!r}"
        return error


def form_of(request: Request) -> tuple[Any, Any]:
    try:
        return request.form, request.files
    finally:
        request.close()


# --- strategies ----------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
pairs = st.lists(st.tuples(text, text), max_size=8)
header_bytes = (st.binary(max_size=120)
                | st.lists(st.sampled_from([b"a", b"=", b";", b",", b" ", b'"', b"\\", b"-",
                                            b"0", b"1", b"q", b"*", b"/", b"W/", b"bytes=",
                                            b"\xc3\xa9", b"\xff", b"\t", b"%", b"+"]),
                           max_size=40).map(b"".join))


def multi(getlist: Callable[[str], list[Any]], items: list[tuple[str, Any]]) -> None:
    """Each key's values come back in order (MultiDict groups keys, so compare per key)."""
    for key in {key for key, _ in items}:
        assert getlist(key) == [value for k, value in items if k == key]


# --- query string ------------------------------------------------------------------------------

@FUZZ
@given(pairs)
def test_query_string_pairs_read_back_exactly(items: list[tuple[str, str]]) -> None:
    request = Request(environ(query=urlencode(items).encode("ascii")))
    multi(request.args.getlist, items)
    assert len(list(request.args.items(multi=True))) == len(items)


@FUZZ
@given(st.binary(max_size=200))
def test_any_query_string_parses_to_text(raw: bytes) -> None:
    request = Request(environ(query=raw))
    for key, value in request.args.items(multi=True):
        assert isinstance(key, str) and isinstance(value, str)
    assert request.full_path.startswith("/?")


# --- cookies -----------------------------------------------------------------------------------

cookie_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                "!#$%&'*+-.^_`|~", min_size=1, max_size=12)


@FUZZ
@given(st.lists(st.tuples(cookie_names, text), max_size=6))
def test_cookies_read_back_exactly(cookies: list[tuple[str, str]]) -> None:
    header = "; ".join(dump_cookie(name, value, path=None) for name, value in cookies)
    request = Request(environ(headers={"Cookie": header.encode("utf-8")}))
    multi(request.cookies.getlist, cookies)


@FUZZ
@given(header_bytes)
def test_any_cookie_header_parses_to_text(raw: bytes) -> None:
    for key, value in Request(environ(headers={"Cookie": raw})).cookies.items(multi=True):
        assert isinstance(key, str) and key and isinstance(value, str)


# --- urlencoded forms --------------------------------------------------------------------------

@FUZZ
@given(pairs)
def test_urlencoded_form_reads_back_exactly(items: list[tuple[str, str]]) -> None:
    form, files = form_of(Request(environ(body=urlencode(items).encode(), content_type=FORM)))
    multi(form.getlist, items)
    assert not files


@FUZZ
@given(st.binary(max_size=300), st.integers(1, 6), st.integers(1, 200))
def test_urlencoded_form_is_413_exactly_when_over_a_limit(body: bytes, max_parts: int,
                                                          max_memory: int) -> None:
    request = Request(environ(body=body, content_type=FORM))
    request.max_form_parts = max_parts
    request.max_form_memory_size = max_memory
    outcome = documented(lambda: form_of(request), {413})
    fields = sum(1 for part in body.split(b"&") if part)
    over = len(body) > max_memory or fields > max_parts
    assert isinstance(outcome, HTTPException) == over


# --- multipart forms ---------------------------------------------------------------------------

BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"
boundaries = st.builds(lambda head, tail: head + tail,
                       st.text(alphabet=BCHARS + " ", max_size=69),
                       st.text(alphabet=BCHARS, min_size=1, max_size=1))
# What a browser may put inside name="..." (it escapes quotes and line breaks itself).
part_names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                            blacklist_characters='"\\'), max_size=12)
# Backslashes stay in a filename (Windows paths), but a final one would read as an
# escaped closing quote: that input is ambiguous, and browsers send basenames anyway.
file_names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                            blacklist_characters='"'),
                     max_size=12).filter(lambda name: not name.endswith("\\"))
content_types = st.sampled_from([None, "text/plain", "application/octet-stream",
                                 "image/png", "text/plain; charset=utf-8"])
Part = tuple[str, str | None, bytes, str | None]
parts = st.lists(st.tuples(part_names, st.none() | file_names, st.binary(max_size=80),
                           content_types), max_size=5)


def encode_multipart(boundary: str, items: list[Part]) -> bytes:
    out = bytearray()
    for name, filename, data, content_type in items:
        out += f"--{boundary}\r\n".encode("ascii")
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if content_type is not None and filename is not None:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return bytes(out)


def multipart_type(boundary: str) -> str:
    return f"multipart/form-data; boundary={quote_header_value(boundary)}"


@FUZZ
@given(boundaries, parts)
def test_well_formed_multipart_reads_back_exactly(boundary: str, items: list[Part]) -> None:
    body = encode_multipart(boundary, items)
    # A part's data may not contain the delimiter; a browser would pick another boundary.
    assume(body.count(b"\r\n--" + boundary.encode()) == len(items))
    request = Request(environ(body=body, content_type=multipart_type(boundary)))
    try:
        form, files = request.form, request.files
        fields = [(n, d.decode("utf-8", "replace")) for n, f, d, _ in items if f is None]
        multi(form.getlist, fields)
        uploads = [(n, (f, d, t)) for n, f, d, t in items if f is not None]
        multi(lambda key: [read_upload(s) for s in files.getlist(key)], uploads)
    finally:
        request.close()


def read_upload(storage: FileStorage) -> tuple[str | None, bytes, str | None]:
    return storage.filename, storage.read(), storage.content_type


MULTIPART_FRAGMENTS = [
    b"\r\n", b"\r", b"\n", b"--", b"\r\n--", b'"', b";", b"=", b":", b" ", b"\x00", b"\xff",
    b"Content-Disposition: form-data; name=\"x\"\r\n", b"Content-Type: text/plain\r\n",
    b"filename=\"f\"", b"name*=utf-8''%e2%82%ac", b"\r\n\r\n", b"Content-Length: 5\r\n",
]


@st.composite
def mutated_multipart(draw: st.DrawFn) -> tuple[str, bytes, int]:
    boundary = draw(boundaries)
    data = bytearray(encode_multipart(boundary, draw(parts)))
    for _ in range(draw(st.integers(0, 5))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "boundary"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(MULTIPART_FRAGMENTS) | st.binary(min_size=1,
                                                                                max_size=4))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 12))]
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "boundary":
            data[at:at] = b"\r\n--" + boundary.encode() + draw(st.sampled_from([b"", b"--",
                                                                                 b"\r\n"]))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 40))]
    # The declared length may disagree with the bytes that arrive.
    length = draw(st.sampled_from([len(data), max(0, len(data) - 7), len(data) + 7]))
    return boundary, bytes(data), length


@FUZZ
@given(mutated_multipart(), st.sampled_from([None, 3]), st.sampled_from([None, 40]))
@example(case=("0", b'--0\r\nContent-Disposition: f\norm-data; name=""\r\n\r\n\r\n--0--\r\n', 58),
         max_parts=None, max_memory=None)  # a bare LF in a part's header value was a 500
def test_mutated_multipart_parses_or_is_400_or_413(
        case: tuple[str, bytes, int], max_parts: int | None, max_memory: int | None) -> None:
    boundary, body, length = case
    request = Request(environ(body=body, length=length, content_type=multipart_type(boundary)))
    request.max_form_parts = max_parts
    request.max_form_memory_size = max_memory
    outcome = documented(lambda: form_of(request), BAD_BODY)
    if not isinstance(outcome, HTTPException):
        form, files = outcome
        assert all(isinstance(v, str) for v in form.values())
        assert all(isinstance(v, FileStorage) for v in files.values())


@FUZZ
@given(header_bytes, st.binary(max_size=200))
def test_any_multipart_content_type_and_body_parse_or_are_4xx(content_type: bytes,
                                                               body: bytes) -> None:
    request = Request(environ(body=body, content_type="multipart/form-data; "
                                                     + content_type.decode("latin-1")))
    documented(lambda: form_of(request), BAD_BODY)


# --- JSON --------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20)
json_types = st.sampled_from(["application/json", "application/json; charset=utf-8",
                              "application/vnd.api+json", "APPLICATION/JSON"])


@FUZZ
@given(json_values, json_types)
def test_json_body_reads_back_exactly(value: Any, content_type: str) -> None:
    body = json.dumps(value).encode()
    assert Request(environ(body=body, content_type=content_type)).get_json() == value


@FUZZ
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()[:-1]),
       json_types)
def test_any_json_body_is_a_value_or_400(body: bytes, content_type: str) -> None:
    request = Request(environ(body=body, content_type=content_type))
    outcome = documented(request.get_json, {400})
    silent = Request(environ(body=body, content_type=content_type)).get_json(silent=True)
    if isinstance(outcome, HTTPException):
        assert silent is None
    else:
        assert silent == outcome or silent != silent  # NaN reads back unequal


@FUZZ
@given(st.binary(max_size=50), st.sampled_from(["text/plain", "application/x-json", "", "json"]))
def test_json_with_another_content_type_is_415(body: bytes, content_type: str) -> None:
    request = Request(environ(body=body, content_type=content_type))
    assert documented(request.get_json, {415}).code == 415  # type: ignore[union-attr]
    assert request.get_json(silent=True) is None


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deeply_nested_json_is_400(depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    outcome = documented(Request(environ(body=body, content_type="application/json")).get_json,
                         {400})
    assert isinstance(outcome, HTTPException)


# --- Range, Accept, If-None-Match --------------------------------------------------------------

@FUZZ
@given(header_bytes, st.integers(0, 10**15))
def test_any_range_header_gives_none_or_ranges_inside_the_body(raw: bytes, length: int) -> None:
    found = Request(environ(headers={"Range": raw})).range
    if found is None:
        return
    assert found.ranges
    span = found.range_for_length(length)
    if span is not None:
        start, stop = span
        assert 0 <= start < stop <= length
    found.to_header()


range_specs = st.lists(
    st.tuples(st.integers(0, 10**12), st.integers(0, 10**6)).map(lambda p: (p[0], p[0] + p[1]))
    | st.tuples(st.integers(0, 10**12), st.none())
    | st.integers(1, 10**12).map(lambda n: (-n, None)),
    min_size=1, max_size=5)


@FUZZ
@given(range_specs)
def test_range_header_reads_back_exactly(ranges: list[tuple[int, int | None]]) -> None:
    spec = ",".join(f"{a}-" if b is None and a >= 0 else str(a) if b is None else f"{a}-{b}"
                    for a, b in ranges)
    found = Request(environ(headers={"Range": f"bytes={spec}".encode()})).range
    assert found is not None and found.units == "bytes"
    assert found.ranges == [(a, None if b is None else b + 1) for a, b in ranges]


offers = st.lists(st.sampled_from(["text/html", "application/json", "text/plain", "image/png",
                                   "*/*", "text/*"]), max_size=4)


@FUZZ
@given(header_bytes, offers)
def test_any_accept_header_gives_qualities_in_range_and_a_real_offer(raw: bytes,
                                                                      offered: list[str]) -> None:
    request = Request(environ(headers={"Accept": raw, "Accept-Language": raw,
                                       "Accept-Encoding": raw, "Accept-Charset": raw}))
    for accept in (request.accept_mimetypes, request.accept_languages,
                   request.accept_encodings, request.accept_charsets):
        assert all(0 <= quality <= 1 for _, quality in accept)
        assert accept.best_match(offered, "default") in [*offered, "default"]
        for offer in offered:
            assert 0 <= accept.quality(offer) <= 1


media = st.tuples(st.sampled_from(["text", "application", "image"]),
                  st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+-.", min_size=1,
                          max_size=8))
qualities = st.integers(0, 1000).map(lambda n: n / 1000)


@FUZZ
@given(st.lists(st.tuples(media, qualities), min_size=1, max_size=6))
def test_accept_header_reads_back_its_qualities(entries: list[tuple[tuple[str, str], float]]
                                                ) -> None:
    header = ", ".join(f"{kind}/{sub};q={q}" for (kind, sub), q in entries)
    accept = Request(environ(headers={"Accept": header.encode()})).accept_mimetypes
    assert sorted(accept) == sorted((f"{kind}/{sub}", q) for (kind, sub), q in entries)
    best = max(q for _, q in entries)
    if best > 0:
        chosen = accept.best_match(f"{kind}/{sub}" for (kind, sub), _ in entries)
        assert chosen is not None and accept.quality(chosen) == best


@FUZZ
@given(header_bytes)
def test_any_if_none_match_header_gives_etags(raw: bytes) -> None:
    etags = Request(environ(headers={"If-None-Match": raw})).if_none_match
    for tag in etags:
        assert isinstance(tag, str)
    etags.to_header()
    assert isinstance(etags.contains_weak("x"), bool)


etag_values = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                             blacklist_characters='",'), min_size=1, max_size=10)


@FUZZ
@given(st.lists(st.tuples(etag_values, st.booleans()), min_size=1, max_size=6))
def test_if_none_match_reads_back_every_tag(tags: list[tuple[str, bool]]) -> None:
    header = ", ".join(quote_etag(tag, weak) for tag, weak in tags)
    etags = Request(environ(headers={"If-None-Match": header.encode()})).if_none_match
    for tag, weak in tags:
        assert etags.contains_weak(tag)
        if not weak and tag != "*":
            assert etags.contains(tag)


# --- large inputs: bounded memory, no hang -----------------------------------------------------

MB = 1 << 20


class LazyBody(io.RawIOBase):
    """A request body produced as it is read, so memory measured is the parser's alone."""

    def __init__(self, head: bytes, filler: bytes, repeat: int, tail: bytes) -> None:
        super().__init__()
        self._pieces = [(head, 1), (filler, repeat), (tail, 1)]
        self.size = len(head) + len(filler) * repeat + len(tail)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _byte_at(self, pos: int) -> tuple[bytes, int]:
        for piece, count in self._pieces:
            span = len(piece) * count
            if pos < span:
                return piece, pos % len(piece)
            pos -= span
        return b"", 0

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        out = bytearray()
        while len(out) < size and self._pos < self.size:
            piece, offset = self._byte_at(self._pos)
            taken = piece[offset:offset + size - len(out)]
            out += taken
            self._pos += len(taken)
        return bytes(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def peak_memory(work: Callable[[], object]) -> tuple[object, int, float]:
    """Run ``work``; return its result (or HTTPException), peak traced bytes and seconds."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = documented(work, {400, 413})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak, time.monotonic() - started


def body_request(body: LazyBody, content_type: str, chunked: bool = False) -> Request:
    env = environ(stream=body, length=None if chunked else body.size, content_type=content_type)
    if chunked:  # as treadle's server marks a chunked body: no length, input ends itself
        env["wsgi.input_terminated"] = True
    return Request(env)


BOUNDARY = "fuzzboundary"
MULTIPART = multipart_type(BOUNDARY)


def part_head(name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()


CLOSE = f"\r\n--{BOUNDARY}--\r\n".encode()


def test_large_upload_spills_to_disk_in_bounded_memory() -> None:
    body = LazyBody(part_head("f", "big.bin"), b"0123456789abcdef" * 4096, 128, CLOSE)  # 8 MB
    request = body_request(body, MULTIPART)
    try:
        result, peak, seconds = peak_memory(lambda: request.files["f"])
        assert isinstance(result, FileStorage)
        result.stream.seek(0, io.SEEK_END)
        assert result.stream.tell() == 8 * MB
    finally:
        request.close()
    assert peak < 3 * MB, f"an 8 MB upload took {peak / MB:.1f} MB of memory"
    assert seconds < 20


@pytest.mark.parametrize("case", ["one huge field", "many parts", "huge part header",
                                  "urlencoded", "urlencoded chunked", "json"])
def test_oversized_bodies_are_413_or_400_in_bounded_memory(case: str) -> None:
    filler = b"x" * 65536
    if case == "one huge field":
        request = body_request(LazyBody(part_head("f"), filler, 128, CLOSE), MULTIPART)
    elif case == "many parts":
        request = body_request(LazyBody(b"", part_head("p") + b"v\r\n", 200_000, CLOSE[2:]),
                               MULTIPART)
    elif case == "huge part header":
        request = body_request(LazyBody(f"--{BOUNDARY}\r\nX-Long: ".encode(), filler, 128,
                                        CLOSE), MULTIPART)
    elif case in ("urlencoded", "urlencoded chunked"):
        request = body_request(LazyBody(b"", b"a=b&" * 16384, 128, b""), FORM,
                               chunked=case.endswith("chunked"))
    else:
        request = body_request(LazyBody(b"[", b"1," * 32768, 128, b"1]"), "application/json")
        request.max_content_length = MB
    try:
        read = request.get_json if case == "json" else lambda: form_of(request)
        result, peak, seconds = peak_memory(read)
    finally:
        request.close()
    assert isinstance(result, HTTPException), f"{case}: an 8 MB body was accepted"
    assert peak < 3 * MB, f"{case}: took {peak / MB:.1f} MB of memory"
    assert seconds < 20


# The largest values the server lets through by default: a query string lives in the
# request line (max_request_line); repeated header fields are joined, up to max_head.
QUERY_LIMIT = Limits().max_request_line
HEADER_LIMIT = Limits().max_head
BIG_HEADERS = {
    "query string": ("query", b"", b"a=b&", QUERY_LIMIT),
    "query of escapes": ("query", b"", b"%", QUERY_LIMIT),
    "query of bad escapes": ("query", b"", b"%e2%82", QUERY_LIMIT),
    "cookie pairs": ("Cookie", b"", b"a=b; ", HEADER_LIMIT),
    "cookie of escapes": ("Cookie", b'a="', b"\\", HEADER_LIMIT),
    "cookie of octal escapes": ("Cookie", b'a="', b"\\303\\251", HEADER_LIMIT),
    "cookie of quotes": ("Cookie", b"", b'a="', HEADER_LIMIT),
    "range of many ranges": ("Range", b"bytes=", b"0-0,", HEADER_LIMIT),
    "accept of many entries": ("Accept", b"", b"a/b;q=0.5,", HEADER_LIMIT),
    "accept of parameters": ("Accept", b"a/b", b";x=y", HEADER_LIMIT),
    "etags of commas": ("If-None-Match", b"", b",", HEADER_LIMIT),
    "etags of weak tags": ("If-None-Match", b"", b'W/"a",', HEADER_LIMIT),
}


def read_header(request: Request, name: str) -> object:
    readers: dict[str, Callable[[], object]] = {
        "query": lambda: request.args, "Cookie": lambda: request.cookies,
        "Range": lambda: request.range, "If-None-Match": lambda: request.if_none_match,
        "Accept": lambda: request.accept_mimetypes.best_match(["text/html", "a/b"]),
    }
    return readers[name]()


def header_peak(name: str, value: bytes) -> tuple[int, float]:
    request = Request(environ(query=value) if name == "query"
                      else environ(headers={name: value}))
    _, peak, seconds = peak_memory(lambda: read_header(request, name))
    return peak, seconds


@pytest.mark.parametrize("name,prefix,unit,limit", BIG_HEADERS.values(), ids=BIG_HEADERS.keys())
def test_largest_header_values_parse_in_linear_memory_and_time(
        name: str, prefix: bytes, unit: bytes, limit: int) -> None:
    count = (limit - len(prefix)) // len(unit)
    small, _ = header_peak(name, prefix + unit * (count // 4))
    peak, seconds = header_peak(name, prefix + unit * count)
    # Four times the input may cost about four times the memory, never sixteen.
    assert peak < 6 * small + 64 * 1024, f"{small} bytes at a quarter, {peak} at full size"
    # Python objects per item cost far more than the item's bytes (the standard
    # library's unquote takes ~190 bytes per "%"), but stay within a fixed factor.
    assert peak < 256 * limit + MB, f"{peak / MB:.1f} MB for {limit} bytes"
    assert seconds < 5
