"""Serving files: safe path joining and the one file-response core behind send_file and static files.

The core answers a GET/HEAD for an open file with 200, 206, 304 or 416, sets
Content-Type, Content-Length, Last-Modified, ETag and Cache-Control, and hands the
body to ``wsgi.file_wrapper`` so the server can use ``sendfile``. ``safe_join``
is the only way a client-supplied path may reach the file system.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import stat
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from time import time
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from treadle.datastructures import Headers
from treadle.exceptions import NotFound, RequestedRangeNotSatisfiable
from treadle.httputil import (
    dump_options_header,
    get_content_type,
    http_date,
    is_resource_modified,
    parse_range_header,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from treadle.wrappers import Response

__all__ = [
    "FileParts",
    "file_response_parts",
    "open_regular_file",
    "safe_join",
    "send_file",
    "send_from_directory",
]

BLOCK_SIZE = 64 * 1024  # bytes per read when the server cannot use sendfile
FALLBACK_MIMETYPE = "application/octet-stream"

FileParts = tuple[int, Headers, "Iterator[bytes] | Any"]


def _is_unsafe_segment(part: str) -> bool:
    return part == ".." or "\\" in part or "\x00" in part or (len(part) >= 2 and part[1] == ":")


def safe_join(directory: str | os.PathLike[str], *pathnames: str) -> str | None:
    """Join untrusted path pieces under ``directory``, or None if the result could escape it.

    Refused: ``..`` segments, backslashes, NUL bytes, absolute paths, drive letters, and
    paths whose real location (after symlinks) is outside the directory's real location.
    """
    root = os.fspath(directory)
    parts: list[str] = []
    for name in pathnames:
        if not name:
            continue
        if name.startswith("/") or os.path.isabs(name):
            return None
        if any(_is_unsafe_segment(part) for part in name.split("/")):
            return None
        parts.append(name)
    joined = posixpath.join(root, *parts) if parts else root
    real_root = os.path.realpath(root)
    real = os.path.realpath(joined)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    return joined


def open_regular_file(path: str) -> tuple[IO[bytes], os.stat_result] | None:
    """Open a regular file for reading; None if it is missing, a directory, or unreadable."""
    try:
        file = open(path, "rb")  # noqa: SIM115 - the caller (or the server) closes it
    except OSError:
        return None
    try:
        info = os.fstat(file.fileno())
    except OSError:
        file.close()
        return None
    if not stat.S_ISREG(info.st_mode):
        file.close()
        return None
    return file, info


def guess_mimetype(name: str, fallback: str | None = FALLBACK_MIMETYPE) -> str | None:
    """The MIME type for a file name, from its extension."""
    return mimetypes.guess_type(name)[0] or fallback


def file_etag(path: str, info: os.stat_result) -> str:
    """A validator that changes when the file is replaced: mtime, size and a path hash."""
    return f"{info.st_mtime_ns:x}-{info.st_size:x}-{zlib.adler32(os.fsencode(path)):x}"


class _FileSlice:
    """A window onto an open file: reads stop after ``length`` bytes.

    ``fileno``, ``tell`` and ``seek`` pass through, so a server's ``sendfile`` (which
    starts at ``tell()`` and sends Content-Length bytes) works on it unchanged.
    """

    __slots__ = ("_file", "_left")

    def __init__(self, file: IO[bytes], length: int) -> None:
        self._file = file
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def fileno(self) -> int:
        return self._file.fileno()

    def tell(self) -> int:
        return self._file.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def close(self) -> None:
        self._file.close()


class _FileIterator:
    """Read a file in blocks, closing it when done or when the server closes us."""

    __slots__ = ("_file",)

    def __init__(self, file: Any) -> None:
        self._file = file

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data: bytes = self._file.read(BLOCK_SIZE)
        if not data:
            raise StopIteration
        return data

    def close(self) -> None:
        self._file.close()


def _body(environ: WSGIEnvironment, file: Any) -> Any:
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        return wrapper(file, BLOCK_SIZE)
    return _FileIterator(file)


def _measure(file: IO[bytes]) -> int | None:
    """Bytes left from the current position, when the file can tell."""
    try:
        return os.fstat(file.fileno()).st_size - file.tell()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        if file.seekable():
            position = file.tell()
            end = file.seek(0, os.SEEK_END)
            file.seek(position)
            return end - position
    except (AttributeError, OSError, ValueError):
        pass
    return None


def file_response_parts(
    environ: WSGIEnvironment,
    file: IO[bytes],
    *,
    size: int | None,
    mimetype: str,
    etag: str | None = None,
    last_modified: datetime | float | None = None,
    max_age: int | None = None,
    conditional: bool = True,
    headers: Headers | None = None,
) -> FileParts:
    """Status, headers and body for sending ``file`` (positioned at its start) to ``environ``.

    With ``conditional``: 304 when the client's copy is current, 206 for one satisfiable
    range, ``RequestedRangeNotSatisfiable`` (416) raised for an unsatisfiable one; several
    ranges get the whole file. HEAD, 304 and 416 close the file and send no body.
    """
    headers = headers if headers is not None else Headers()
    headers.set("Content-Type", get_content_type(mimetype, "utf-8"))
    if etag is not None:
        headers.set("ETag", f'"{etag}"')
    if isinstance(last_modified, int | float):
        last_modified = datetime.fromtimestamp(int(last_modified), UTC)
    if last_modified is not None:
        headers.set("Last-Modified", http_date(last_modified))
    if max_age is not None and max_age > 0:
        headers.set("Cache-Control", f"public, max-age={max_age}")
        headers.set("Expires", http_date(time() + max_age))
    elif max_age is not None:
        headers.set("Cache-Control", "no-cache, max-age=0")
    else:
        headers.set("Cache-Control", "no-cache")

    status = 200
    start, length = 0, size
    if conditional and environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
        if size is not None:
            headers.set("Accept-Ranges", "bytes")
        if not is_resource_modified(environ, etag, last_modified=last_modified):
            file.close()
            for name in ("Content-Type", "Accept-Ranges"):
                headers.remove(name)
            return 304, headers, ()
        span = _requested_span(environ, size, etag, last_modified)
        if span is not None:
            start, stop = span
            status, length = 206, stop - start
            headers.set("Content-Range", f"bytes {start}-{stop - 1}/{size}")
    if length is not None:
        headers.set("Content-Length", str(length))
    if environ.get("REQUEST_METHOD") == "HEAD":
        file.close()
        return status, headers, ()
    if status == 206:
        file.seek(start, os.SEEK_CUR)
        return status, headers, _body(environ, _FileSlice(file, length or 0))
    return status, headers, _body(environ, file)


def _requested_span(
    environ: WSGIEnvironment,
    size: int | None,
    etag: str | None,
    last_modified: datetime | None,
) -> tuple[int, int] | None:
    """The (start, stop) to send for a Range request, None for the whole file."""
    header = environ.get("HTTP_RANGE")
    if not header or size is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return None
    if "HTTP_IF_RANGE" in environ and is_resource_modified(
        environ, etag, last_modified=last_modified, ignore_if_range=False
    ):
        return None
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return None
    span = parsed.range_for_length(size)
    if span is None:
        raise RequestedRangeNotSatisfiable(length=size)
    return None if span == (0, size) else span


def _content_disposition(download_name: str, as_attachment: bool) -> str:
    kind = "attachment" if as_attachment else "inline"
    try:
        download_name.encode("ascii")
    except UnicodeEncodeError:
        plain = unicodedata.normalize("NFKD", download_name).encode("ascii", "ignore").decode()
        encoded = quote(download_name, safe="!#$&+^`|~")
        return dump_options_header(kind, {"filename": plain, "filename*": f"UTF-8''{encoded}"})
    return dump_options_header(kind, {"filename": download_name})


def send_file(
    path_or_file: str | os.PathLike[str] | IO[bytes],
    environ: WSGIEnvironment,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | float | None = None,
    max_age: int | Callable[[str | None], int | None] | None = None,
    use_x_sendfile: bool = False,
    response_class: type[Response] | None = None,
    _root_path: str | os.PathLike[str] | None = None,
) -> Response:
    """A response sending a file from a path or a binary file object (Werkzeug's semantics).

    Never pass a path built from user input: use ``send_from_directory``.
    """
    if response_class is None:
        from treadle.wrappers import Response as default_class  # wrappers is above us

        response_class = default_class

    path: str | None = None
    info: os.stat_result | None = None
    if isinstance(path_or_file, str | os.PathLike):
        path = os.fspath(path_or_file)
        if _root_path is not None and not os.path.isabs(path):
            path = os.path.join(os.fspath(_root_path), path)
        opened = open_regular_file(path)
        if opened is None:
            raise NotFound()
        file, info = opened
        size: int | None = info.st_size
    else:
        file = path_or_file
        size = _measure(file)

    if download_name is None and path is not None:
        download_name = os.path.basename(path)
    if mimetype is None:
        if download_name is None:
            raise TypeError(
                "Unable to detect the MIME type because a file name is not available:"
                " pass download_name, pass a path instead of a file, or set mimetype."
            )
        mimetype = guess_mimetype(download_name)
    headers = Headers()
    if download_name is not None:
        headers.set("Content-Disposition", _content_disposition(download_name, as_attachment))
    elif as_attachment:
        raise TypeError("send_file(as_attachment=True) needs a download_name for a file object.")

    if isinstance(etag, str):
        etag_value: str | None = etag
    elif etag and path is not None and info is not None:
        etag_value = file_etag(path, info)
    else:
        etag_value = None
    if last_modified is None and info is not None:
        last_modified = info.st_mtime
    if callable(max_age):
        max_age = max_age(path)

    if use_x_sendfile and path is not None:
        file.close()
        headers.set("X-Sendfile", path)
        headers.set("Content-Type", get_content_type(mimetype or FALLBACK_MIMETYPE, "utf-8"))
        if etag_value is not None:
            headers.set("ETag", f'"{etag_value}"')
        response = response_class(None, 200, headers)
        response.content_length = size
        return response

    status, headers, body = file_response_parts(
        environ,
        file,
        size=size,
        mimetype=mimetype or FALLBACK_MIMETYPE,
        etag=etag_value,
        last_modified=last_modified,
        max_age=max_age,
        conditional=conditional,
        headers=headers,
    )
    return response_class(body, status, headers, direct_passthrough=True)


def send_from_directory(
    directory: str | os.PathLike[str],
    path: str | os.PathLike[str],
    environ: WSGIEnvironment,
    **kwargs: Any,
) -> Response:
    """Send ``path`` from inside ``directory``; 404 for anything outside it or not a file."""
    root_path = kwargs.get("_root_path")
    directory = os.fspath(directory)
    if root_path is not None and not os.path.isabs(directory):
        directory = os.path.join(os.fspath(root_path), directory)
    joined = safe_join(directory, os.fspath(path))
    if joined is None or not os.path.isfile(joined):
        raise NotFound()
    return send_file(joined, environ, **kwargs)
