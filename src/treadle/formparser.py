"""Reading request bodies: the length-limited input stream and the form parsers.

Never read past CONTENT_LENGTH (or past ``max_content_length`` when the server
marks the input terminated). urlencoded bodies are parsed in memory under
``max_form_memory_size``; multipart bodies are streamed through python-multipart,
files spilling to disk past 500 KiB. Bad bodies raise 400, oversized ones 413.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from treadle.datastructures import FileStorage, Headers, ImmutableMultiDict, MultiDict
from treadle.exceptions import BadRequest, ClientDisconnected, RequestEntityTooLarge
from treadle.httputil import parse_options_header, parse_query_string

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = [
    "FormDataParser",
    "LimitedStream",
    "default_stream_factory",
    "get_content_length",
    "get_input_stream",
    "parse_form_data",
]

# One table of the parser's own sizes.
SPOOL_MAX_SIZE = 500 * 1024  # an upload bigger than this moves from memory to a temp file
READ_CHUNK_SIZE = 64 * 1024  # bytes handed to the multipart parser at a time
MAX_PART_HEADER_SIZE = 8 * 1024  # one header line of one part
MAX_PART_HEADER_COUNT = 16  # header lines per part

StreamFactory = Callable[[int | None, str | None, str | None, int | None], IO[bytes]]


def default_stream_factory(
    total_content_length: int | None,
    content_type: str | None,
    filename: str | None,
    content_length: int | None = None,
) -> IO[bytes]:
    """Where an uploaded file goes: memory first, a temporary file once it grows past 500 KiB."""
    from tempfile import SpooledTemporaryFile

    return SpooledTemporaryFile(max_size=SPOOL_MAX_SIZE, mode="rb+")


def get_content_length(environ: WSGIEnvironment) -> int | None:
    """CONTENT_LENGTH as an int; None when absent, invalid, or the body is chunked."""
    if environ.get("HTTP_TRANSFER_ENCODING"):
        return None
    value = environ.get("CONTENT_LENGTH")
    if not value:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value)


class LimitedStream(io.RawIOBase):
    """Read at most ``limit`` bytes from a WSGI input.

    With ``is_max`` the limit is a ceiling rather than the expected length: the body
    ends at EOF, and data beyond the limit raises 413. Otherwise EOF before the limit
    means the client went away (400).
    """

    def __init__(self, stream: IO[bytes], limit: int, is_max: bool = False) -> None:
        super().__init__()
        self._stream = stream
        self.limit = limit
        self.is_max = is_max
        self._pos = 0

    def readable(self) -> bool:
        return True

    @property
    def is_exhausted(self) -> bool:
        return self._pos >= self.limit

    def _check_beyond_limit(self) -> None:
        if self.is_max and self._stream.read(1):
            raise RequestEntityTooLarge()

    def read(self, size: int | None = -1) -> bytes:
        left = self.limit - self._pos
        if left <= 0:
            self._check_beyond_limit()
            return b""
        if size is None or size < 0:
            chunks = []
            while left > 0:
                chunk = self._read_some(left)
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            if left <= 0:
                self._check_beyond_limit()
            return b"".join(chunks)
        return self._read_some(min(size, left)) if size else b""

    def _read_some(self, size: int) -> bytes:
        data = self._stream.read(size)
        if not data:
            if not self.is_max:
                raise ClientDisconnected(
                    "The client closed the connection before sending the whole body."
                )
            self.limit = self._pos  # a terminated input simply ended
            return b""
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def readline(self, size: int | None = -1) -> bytes:
        left = self.limit - self._pos
        if left <= 0:
            self._check_beyond_limit()
            return b""
        if size is None or size < 0 or size > left:
            size = left
        line = self._stream.readline(size)
        if not line:
            return self._read_some(size)  # raises or ends the stream, as read() would
        self._pos += len(line)
        return line

    def tell(self) -> int:
        return self._pos


def get_input_stream(environ: WSGIEnvironment, max_content_length: int | None = None) -> IO[bytes]:
    """The request body as a stream that stops where the body stops.

    A declared length over ``max_content_length`` is refused (413) before anything is
    read. Without a length, only an input the server marks terminated is read at all.
    """
    stream: IO[bytes] = environ["wsgi.input"]
    length = get_content_length(environ)
    if length is not None and max_content_length is not None and length > max_content_length:
        raise RequestEntityTooLarge()
    if environ.get("wsgi.input_terminated"):
        if max_content_length is not None:
            return LimitedStream(stream, max_content_length, is_max=True)  # type: ignore[return-value]
        return stream
    if length is None:
        return io.BytesIO()
    return LimitedStream(stream, length)  # type: ignore[return-value]


def _read_up_to(stream: IO[bytes], size: int) -> bytes:
    """Read ``size`` bytes or to EOF, whichever comes first, despite short reads."""
    chunks = []
    while size > 0:
        chunk = stream.read(min(size, READ_CHUNK_SIZE))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


_Parsed = tuple[IO[bytes], ImmutableMultiDict, ImmutableMultiDict]


class FormDataParser:
    """Turn a form body into ``(stream, form, files)``; other bodies pass through untouched."""

    def __init__(
        self,
        stream_factory: StreamFactory | None = None,
        max_form_memory_size: int | None = None,
        max_content_length: int | None = None,
        cls: type[ImmutableMultiDict] | None = None,
        *,
        max_form_parts: int | None = None,
    ) -> None:
        self.stream_factory = stream_factory or default_stream_factory
        self.max_form_memory_size = max_form_memory_size
        self.max_content_length = max_content_length
        self.max_form_parts = max_form_parts
        self.cls = cls or ImmutableMultiDict

    def parse_from_environ(self, environ: WSGIEnvironment) -> _Parsed:
        stream = get_input_stream(environ, self.max_content_length)
        mimetype, options = parse_options_header(environ.get("CONTENT_TYPE"))
        return self.parse(stream, mimetype.lower(), get_content_length(environ), options)

    def parse(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str] | None = None,
    ) -> _Parsed:
        if (
            self.max_content_length is not None
            and content_length is not None
            and content_length > self.max_content_length
        ):
            raise RequestEntityTooLarge()
        options = options or {}
        if mimetype == "multipart/form-data":
            form, files = self._parse_multipart(stream, options, content_length)
            return stream, self.cls(form), self.cls(files)
        if mimetype in ("application/x-www-form-urlencoded", "application/x-url-encoded"):
            return stream, self.cls(self._parse_urlencoded(stream, content_length)), self.cls()
        return stream, self.cls(), self.cls()

    def _parse_urlencoded(self, stream: IO[bytes], content_length: int | None) -> MultiDict:
        limit = self.max_form_memory_size
        if limit is not None and content_length is not None and content_length > limit:
            raise RequestEntityTooLarge()
        body = stream.read() if limit is None else _read_up_to(stream, limit + 1)
        if limit is not None and len(body) > limit:
            raise RequestEntityTooLarge()
        try:
            pairs = parse_query_string(body.decode("utf-8", "replace"), self.max_form_parts)
        except ValueError:
            raise RequestEntityTooLarge(
                f"The form has more than {self.max_form_parts} fields."
            ) from None
        return MultiDict(pairs)

    def _parse_multipart(
        self, stream: IO[bytes], options: dict[str, str], content_length: int | None
    ) -> tuple[MultiDict, MultiDict]:
        boundary = options.get("boundary", "")
        if not boundary or len(boundary) > 200 or not boundary.isascii():
            raise BadRequest("The multipart/form-data body has no valid boundary parameter.")
        # python_multipart loads logging: deferred until a multipart body arrives.
        from python_multipart.exceptions import FormParserError
        from python_multipart.multipart import MultipartParser, MultipartState

        reader = _MultipartReader(self, content_length)
        try:
            parser = MultipartParser(
                boundary.encode("ascii"),
                reader.callbacks(),
                max_header_count=MAX_PART_HEADER_COUNT,
                max_header_size=MAX_PART_HEADER_SIZE,
            )
            while True:
                chunk = stream.read(READ_CHUNK_SIZE)
                if not chunk:
                    break
                parser.write(chunk)
            parser.finalize()
            if parser.state != MultipartState.END:
                raise BadRequest("The multipart/form-data body ended before its closing boundary.")
        except FormParserError as error:
            reader.close_files()
            raise BadRequest(f"The multipart/form-data body is malformed: {error}") from None
        except BaseException:
            reader.close_files()
            raise
        return reader.form, reader.files


class _MultipartReader:
    """The python-multipart callbacks for one body: collects fields and files as parts end."""

    def __init__(self, parser: FormDataParser, content_length: int | None) -> None:
        self.parser = parser
        self.content_length = content_length
        self.form = MultiDict()
        self.files = MultiDict()
        self.parts = 0
        self.memory_used = 0
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: list[tuple[str, str]] = []
        self.part_headers = Headers()
        self.name: str | None = None
        self.filename: str | None = None
        self.field: bytearray | None = None
        self.file: IO[bytes] | None = None

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.parts += 1
        limit = self.parser.max_form_parts
        if limit is not None and self.parts > limit:
            raise RequestEntityTooLarge(f"The form has more than {limit} parts.")
        self.headers = []
        self.name = self.filename = None
        self.field = None
        self.file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self.header_name.decode("latin-1").strip()
        value = self.header_value.decode("utf-8", "replace").strip()
        if "\r" in value or "\n" in value:  # python-multipart lets a bare CR/LF through
            raise BadRequest("A multipart part header contains a bare line break.")
        self.headers.append((name, value))
        self.header_name = bytearray()
        self.header_value = bytearray()

    def on_headers_finished(self) -> None:
        headers = Headers(self.headers)
        disposition, options = parse_options_header(headers.get("Content-Disposition"))
        if disposition.lower() != "form-data" or "name" not in options:
            raise BadRequest("A multipart part lacks a Content-Disposition: form-data name.")
        self.name = options["name"]
        self.filename = options.get("filename")
        if self.filename is None:
            self.field = bytearray()
        else:
            self.file = self.parser.stream_factory(
                self.content_length,
                headers.get("Content-Type"),
                self.filename,
                headers.get("Content-Length", type=int),
            )
        self.part_headers = headers

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.file is not None:
            self.file.write(data[start:end])
            return
        if self.field is None:
            return
        size = end - start
        limit = self.parser.max_form_memory_size
        self.memory_used += size
        if limit is not None and self.memory_used > limit:
            raise RequestEntityTooLarge("The form's fields are larger than the server accepts.")
        self.field += data[start:end]

    def on_part_end(self) -> None:
        if self.name is None:
            return
        headers = self.part_headers
        if self.file is not None:
            self.file.seek(0)
            self.files.add(
                self.name,
                FileStorage(self.file, self.filename, self.name, headers=headers),
            )
            self.file = None
        elif self.field is not None:
            _, params = parse_options_header(headers.get("Content-Type"))
            charset = params.get("charset", "utf-8")
            try:
                text = self.field.decode(charset, "replace")
            except LookupError:  # a charset Python does not know
                text = self.field.decode("utf-8", "replace")
            self.form.add(self.name, text)
            self.field = None

    def close_files(self) -> None:
        if self.file is not None:
            self.file.close()
        for storage in self.files.listvalues():
            for item in storage:
                item.close()


def parse_form_data(
    environ: WSGIEnvironment,
    stream_factory: StreamFactory | None = None,
    max_form_memory_size: int | None = None,
    max_content_length: int | None = None,
    cls: type[ImmutableMultiDict] | None = None,
    *,
    max_form_parts: int | None = None,
) -> _Parsed:
    """Parse the form in ``environ`` into ``(stream, form, files)`` without a Request."""
    return FormDataParser(
        stream_factory,
        max_form_memory_size,
        max_content_length,
        cls,
        max_form_parts=max_form_parts,
    ).parse_from_environ(environ)
