"""SharedDataMiddleware: serve files from exported directories, files and packages before the app.

Only GET and HEAD are served; other methods, paths outside the exports and missing
files go on to the wrapped app. A path that tries to leave its export (``..``,
backslashes, NUL, absolute paths, symlinks pointing out) or names a directory gets
a plain 404 and never touches the app.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from treadle.exceptions import RequestedRangeNotSatisfiable
from treadle.files import (
    file_etag,
    file_response_parts,
    guess_mimetype,
    open_regular_file,
    safe_join,
)
from treadle.httputil import HTTP_STATUS_CODES

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["SharedDataMiddleware"]

_NOT_FOUND = b"Not Found"


def _package_directory(package: str, subdir: str) -> str:
    """The file-system directory ``subdir`` of an importable package."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if spec is None or not locations:
        raise ValueError(
            f"cannot export ({package!r}, {subdir!r}): {package!r} is not an importable"
            " package; check the name, or export a directory path instead."
        )
    directory = Path(locations[0]) / subdir
    if not directory.is_dir():
        raise ValueError(
            f"cannot export ({package!r}, {subdir!r}): {directory} is not a directory"
            " (zipped packages cannot be served; install the package unzipped)."
        )
    return str(directory)


class _Export:
    """One exported URL prefix and the directory or single file behind it."""

    __slots__ = ("directory", "file", "prefix")

    def __init__(self, prefix: str, target: str | tuple[str, str]) -> None:
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.file: str | None = None
        self.directory: str | None = None
        if isinstance(target, tuple):
            self.directory = os.path.realpath(_package_directory(*target))
        elif os.path.isfile(target):
            self.file = os.path.realpath(target)
        else:
            self.directory = os.path.realpath(target)

    def match(self, path: str) -> str | None:
        """The path below this export ("" for the prefix itself), or None if not under it."""
        if path == self.prefix:
            return ""
        if path.startswith(self.prefix + "/"):
            return path[len(self.prefix) + 1 :]
        return None


class SharedDataMiddleware:
    """Serve static files in front of a WSGI app (Werkzeug's name and arguments).

    ``exports`` maps URL prefixes to a directory, a single file, or a
    ``(package, subdirectory)`` pair. ``disallow`` is an fnmatch pattern of file names
    never served. With ``cache``, responses carry an ETag, Last-Modified and a
    ``cache_timeout``-second max-age; without it, clients revalidate every time.
    """

    def __init__(
        self,
        app: WSGIApplication,
        exports: dict[str, str | tuple[str, str]] | Iterable[tuple[str, str | tuple[str, str]]],
        disallow: str | None = None,
        cache: bool = True,
        cache_timeout: int = 60 * 60 * 12,
        fallback_mimetype: str = "application/octet-stream",
    ) -> None:
        self.app = app
        items = exports.items() if isinstance(exports, dict) else exports
        # Longest prefix first, so "/static/img" wins over "/static".
        self.exports = sorted(
            (_Export(prefix, target) for prefix, target in items),
            key=lambda export: len(export.prefix),
            reverse=True,
        )
        self.disallow = disallow
        self.cache = cache
        self.cache_timeout = cache_timeout
        self.fallback_mimetype = fallback_mimetype

    def is_allowed(self, filename: str) -> bool:
        """Whether a file name may be served, given ``disallow``."""
        return self.disallow is None or not fnmatch(filename, self.disallow)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO") or "/"
        if not path.isascii():  # WSGI gives latin-1; the client sent UTF-8
            path = path.encode("latin-1").decode("utf-8", "replace")
        for export in self.exports:
            rest = export.match(path)
            if rest is None:
                continue
            if export.file is not None:
                if rest:
                    continue
                return self._serve(environ, start_response, export.file)
            if not rest.strip("/") or export.directory is None:
                return self._plain(environ, start_response, 404, _NOT_FOUND)  # no listings
            target = safe_join(export.directory, rest)
            if target is None:
                return self._plain(environ, start_response, 404, _NOT_FOUND)
            return self._serve(environ, start_response, target)
        return self.app(environ, start_response)

    def _serve(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        if os.path.isdir(path):
            return self._plain(environ, start_response, 404, _NOT_FOUND)
        name = os.path.basename(path)
        if not self.is_allowed(name):
            return self.app(environ, start_response)
        opened = open_regular_file(path)
        if opened is None:
            return self.app(environ, start_response)
        file, info = opened
        try:
            status, headers, body = file_response_parts(
                environ,
                file,
                size=info.st_size,
                mimetype=guess_mimetype(name, self.fallback_mimetype) or self.fallback_mimetype,
                etag=file_etag(path, info) if self.cache else None,
                last_modified=info.st_mtime,
                max_age=self.cache_timeout if self.cache else None,
            )
        except RequestedRangeNotSatisfiable as error:
            file.close()
            extra = [(k, v) for k, v in error.get_headers() if k == "Content-Range"]
            return self._plain(environ, start_response, 416, b"Range Not Satisfiable", extra)
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers.to_wsgi_list())
        return body

    @staticmethod
    def _plain(
        environ: WSGIEnvironment,
        start_response: StartResponse,
        status: int,
        body: bytes,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *(extra or ()),
        ]
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
