"""``EnvironBuilder``: the arguments of a test request (path, query_string, data, json,
headers, auth...) turned into a WSGI environ, with urlencoded and multipart bodies.

The test client and ``app.test_request_context`` both build their environs here.
"""

from __future__ import annotations

import json as _json
import mimetypes
import sys
from base64 import b64encode
from collections.abc import Iterable, Iterator, Mapping
from io import BytesIO
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urlsplit
from uuid import uuid4

from treadle.datastructures import FileStorage, Headers

if TYPE_CHECKING:
    from treadle.app import Treadle
    from treadle.wrappers import Request

__all__ = ["EnvironBuilder", "encode_multipart"]

_FORM_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _is_file_value(value: Any) -> bool:
    return isinstance(value, (tuple, FileStorage)) or hasattr(value, "read")


def _iter_fields(data: Any) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` pairs of a dict (list values repeat), MultiDict or pair list."""
    if hasattr(data, "items") and hasattr(data, "getlist"):
        yield from data.items(multi=True)
        return
    items = data.items() if isinstance(data, Mapping) else data
    for key, value in items:
        if isinstance(value, list):
            for item in value:
                yield key, item
        else:
            yield key, value


def _file_parts(name: str, value: Any) -> tuple[bytes, str, str]:
    """``(content, filename, content_type)`` of a test upload value."""
    content_type: str | None = None
    if isinstance(value, FileStorage):
        stream, filename, content_type = value.stream, value.filename, value.content_type
    elif isinstance(value, tuple):
        stream = value[0]
        filename = value[1] if len(value) > 1 else None
        content_type = value[2] if len(value) > 2 else None
    else:
        stream, filename = value, None
    if isinstance(stream, str):  # a path on disk
        filename = filename or stream
        with open(stream, "rb") as fh:
            content = fh.read()
    elif isinstance(stream, (bytes, bytearray)):
        content = bytes(stream)
    else:
        content = stream.read()
        if isinstance(content, str):
            content = content.encode()
    if filename is None:
        guessed = getattr(stream, "name", None)
        filename = guessed.rsplit("/", 1)[-1] if isinstance(guessed, str) and not guessed.startswith("<") else name
    if content_type is None:
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return content, filename, content_type


def _disposition_quote(value: str) -> str:
    # HTML's form encoding: quotes and newlines are percent-escaped in field names.
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def encode_multipart(fields: Iterable[tuple[str, Any]], boundary: str | None = None) -> tuple[str, bytes]:
    """``(boundary, body)`` of a multipart/form-data body for form fields and file uploads."""
    boundary = boundary or f"----TreadleBoundary{uuid4().hex}"
    out = BytesIO()
    for name, value in fields:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'Content-Disposition: form-data; name="{_disposition_quote(name)}"'
        if _is_file_value(value):
            content, filename, content_type = _file_parts(name, value)
            out.write(f'{disposition}; filename="{_disposition_quote(filename)}"\r\n'.encode())
            out.write(f"Content-Type: {content_type}\r\n\r\n".encode())
            out.write(content)
        else:
            out.write(f"{disposition}\r\n\r\n".encode())
            out.write(value if isinstance(value, bytes) else str(value).encode())
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return boundary, out.getvalue()


def _wsgi_str(value: str) -> str:
    """Text as WSGI carries it: UTF-8 bytes seen as latin-1 characters."""
    return value.encode().decode("latin-1")


class EnvironBuilder:
    """Build a WSGI environ from the arguments of a test request.

    With an app, the host, scheme and script root default to the app's ``SERVER_NAME``,
    ``PREFERRED_URL_SCHEME`` and ``APPLICATION_ROOT``; otherwise ``http://localhost/``.
    """

    server_protocol = "HTTP/1.1"

    def __init__(
        self,
        app: Treadle | None = None,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        query_string: str | Mapping[str, Any] | None = None,
        method: str = "GET",
        input_stream: IO[bytes] | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
        errors_stream: IO[str] | None = None,
        multithread: bool = False,
        multiprocess: bool = False,
        run_once: bool = False,
        headers: Any = None,
        data: Any = None,
        environ_base: Mapping[str, Any] | None = None,
        environ_overrides: Mapping[str, Any] | None = None,
        mimetype: str | None = None,
        json: Any = None,
        auth: tuple[str, str] | Any = None,
    ) -> None:
        self.app = app
        parts = urlsplit(path)
        if base_url is None:
            host = (app.config.get("SERVER_NAME") if app is not None else None) or "localhost"
            root = app.config["APPLICATION_ROOT"] if app is not None else "/"
            if subdomain:
                host = f"{subdomain}.{host}"
            if url_scheme is None:
                url_scheme = app.config["PREFERRED_URL_SCHEME"] if app is not None else "http"
            base_url = f"{parts.scheme or url_scheme}://{parts.netloc or host}/{root.lstrip('/')}"
        base = urlsplit(base_url)
        self.url_scheme = base.scheme or "http"
        self.host = base.netloc or "localhost"
        self.script_root = base.path.rstrip("/")
        self.path = unquote(parts.path) or "/"
        if query_string is None:
            query_string = parts.query
        if not isinstance(query_string, str):
            query_string = urlencode(list(_iter_fields(query_string)))
        self.query_string: str = query_string
        self.method = method.upper()
        self.headers = Headers(headers)
        if auth is not None:
            if isinstance(auth, tuple):
                token = b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
                self.headers.set("Authorization", f"Basic {token}")
            else:
                self.headers.set("Authorization", auth.to_header())
        if mimetype is not None and content_type is None:
            content_type = mimetype
        self.errors_stream = errors_stream if errors_stream is not None else sys.stderr
        self.multithread = multithread
        self.multiprocess = multiprocess
        self.run_once = run_once
        self.environ_base = dict(environ_base or {})
        self.environ_overrides = dict(environ_overrides or {})
        self.body: bytes | None = None
        self._input_stream = input_stream
        self.content_length = content_length

        if json is not None:
            if data is not None:
                raise TypeError("Pass either 'json' or 'data' to a test request, not both.")
            data = app.json.dumps(json) if app is not None else _json.dumps(json)
            if content_type is None:
                content_type = "application/json"
        if data is not None:
            if input_stream is not None:
                raise TypeError("Pass either 'input_stream' or 'data' to a test request, not both.")
            if hasattr(data, "read"):
                data = data.read()
            if isinstance(data, str):
                data = data.encode()
            if isinstance(data, (bytes, bytearray)):
                self.body = bytes(data)
            else:
                content_type = self._encode_form(list(_iter_fields(data)), content_type)
        self.content_type = content_type

    def _encode_form(self, fields: list[tuple[str, Any]], content_type: str | None) -> str:
        base_type = (content_type or "").partition(";")[0].strip().lower()
        if base_type == _MULTIPART or any(_is_file_value(value) for _name, value in fields):
            boundary, self.body = encode_multipart(fields)
            return f'{_MULTIPART}; boundary="{boundary}"'
        self.body = urlencode([(k, v) for k, v in fields]).encode("ascii")
        return content_type or _FORM_URLENCODED

    @property
    def server_name(self) -> str:
        return self.host.rsplit(":", 1)[0] if not self.host.endswith("]") else self.host

    @property
    def server_port(self) -> int:
        _host, sep, port = self.host.rpartition(":")
        if sep and port.isdigit() and not self.host.endswith("]"):
            return int(port)
        return 443 if self.url_scheme == "https" else 80

    def get_environ(self) -> dict[str, Any]:
        """The environ for this request (a fresh input stream each call)."""
        content_length = self.content_length
        if self._input_stream is not None:
            stream: IO[bytes] = self._input_stream
        elif self.body is not None:
            stream = BytesIO(self.body)
            content_length = len(self.body)
        else:
            stream = BytesIO()
        request_uri = quote(self.script_root + self.path, safe="/:@!$&'()*+,;=%~")
        if self.query_string:
            request_uri = f"{request_uri}?{self.query_string}"
        environ: dict[str, Any] = dict(self.environ_base)
        environ.update(
            {
                "REQUEST_METHOD": self.method,
                "SCRIPT_NAME": _wsgi_str(unquote(self.script_root)),
                "PATH_INFO": _wsgi_str(self.path),
                "QUERY_STRING": _wsgi_str(self.query_string),
                "REQUEST_URI": request_uri,
                "RAW_URI": request_uri,
                "SERVER_NAME": self.server_name,
                "SERVER_PORT": str(self.server_port),
                "SERVER_PROTOCOL": self.server_protocol,
                "HTTP_HOST": self.host,
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": self.url_scheme,
                "wsgi.input": stream,
                "wsgi.errors": self.errors_stream,
                "wsgi.multithread": self.multithread,
                "wsgi.multiprocess": self.multiprocess,
                "wsgi.run_once": self.run_once,
            }
        )
        if self.content_type is not None:
            environ["CONTENT_TYPE"] = self.content_type
        if content_length is not None:
            environ["CONTENT_LENGTH"] = str(content_length)
        combined: dict[str, list[str]] = {}
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ.setdefault(name, value)
                continue
            combined.setdefault(f"HTTP_{name}", []).append(value)
        for key, values in combined.items():
            environ[key] = ", ".join(values)
        environ.update(self.environ_overrides)
        return environ

    def get_request(self, cls: type[Request] | None = None) -> Request:
        """A request object over ``get_environ()``."""
        if cls is None:
            cls = self.app.request_class if self.app is not None else _default_request_class()
        return cls(self.get_environ())

    def close(self) -> None:
        """Nothing stays open: uploads are read into the body when the builder is made."""


def _default_request_class() -> type[Request]:
    from treadle.wrappers import Request

    return Request
