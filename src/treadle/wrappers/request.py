"""Request: the incoming request, read lazily from its WSGI environ (Werkzeug's API).

Each attribute is computed on first use and kept, so a view that reads nothing
costs nothing; ``Request.__init__`` runs on every request and stays tiny.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from io import BytesIO
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar, overload
from urllib.parse import quote

from treadle.datastructures import (
    Accept,
    Authorization,
    CombinedMultiDict,
    EnvironHeaders,
    ETags,
    ImmutableMultiDict,
    LanguageAccept,
    MIMEAccept,
    Range,
    ResponseCacheControl,
)
from treadle.exceptions import BadHost, BadRequest, UnsupportedMediaType
from treadle.formparser import FormDataParser, get_content_length, get_input_stream
from treadle.globals import _cv_app
from treadle.httputil import (
    parse_accept_header,
    parse_authorization_header,
    parse_cache_control_header,
    parse_cookie,
    parse_date,
    parse_etags,
    parse_list_header,
    parse_options_header,
    parse_query_string,
    parse_range_header,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["Request", "UserAgent", "cached"]

T = TypeVar("T")


class cached(Generic[T]):  # lower-case: it is used like @property
    """Compute an attribute once per instance and store it in the instance dict.

    Unlike ``functools.cached_property`` on 3.11 it takes no lock, which would make
    every thread wait on every other thread's first access.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> cached[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> T | cached[T]:
        if obj is None:
            return self
        value = self.func(obj)
        obj.__dict__[self.name] = value
        return value


class UserAgent(str):
    """The User-Agent header; ``.string`` is kept for code written against Werkzeug."""

    __slots__ = ()

    @property
    def string(self) -> str:
        return str(self)


_EMPTY_ARGS: ImmutableMultiDict = ImmutableMultiDict()
_FORM_MIMETYPES = frozenset(
    {"multipart/form-data", "application/x-www-form-urlencoded", "application/x-url-encoded"}
)
_URL_SAFE = "/:@!$&'()*+,;=~%"


def _wsgi_text(value: str) -> str:
    """WSGI hands URL parts over as latin-1; recover the UTF-8 text the client sent."""
    if value.isascii():
        return value
    return value.encode("latin-1").decode("utf-8", "replace")


class Request:
    """The incoming request, read lazily from its WSGI environ.

    ``max_content_length``, ``max_form_memory_size`` and ``max_form_parts`` are class
    defaults; the app sets them per instance from its config.
    """

    max_content_length: int | None = None
    max_form_memory_size: int | None = 500_000
    max_form_parts: int | None = 1000
    trusted_hosts: list[str] | None = None
    parameter_storage_class: type[ImmutableMultiDict] = ImmutableMultiDict
    form_data_parser_class: type[FormDataParser] = FormDataParser
    json_module: Any = json

    # Filled by the app layer after routing.
    url_rule: Any = None
    view_args: dict[str, Any] | None = None
    routing_exception: Exception | None = None

    def __init__(
        self, environ: WSGIEnvironment, populate_request: bool = True, shallow: bool = False
    ) -> None:
        self.environ = environ
        self.shallow = shallow
        if populate_request and not shallow:
            environ["treadle.request"] = self

    def __repr__(self) -> str:
        try:
            url = repr(self.url)
        except Exception as error:  # a bad Host must not break logging or a debugger
            url = f"(invalid URL: {error})"
        return f"<{type(self).__name__} {url} [{self.method}]>"

    # --- the request line -------------------------------------------------------------

    @cached
    def method(self) -> str:
        return str(self.environ.get("REQUEST_METHOD", "GET")).upper()

    @cached
    def scheme(self) -> str:
        return str(self.environ.get("wsgi.url_scheme", "http"))

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")

    @cached
    def path(self) -> str:
        """The path below the app's mount point, always starting with ``/``."""
        path: str = self.environ.get("PATH_INFO", "")
        if path[:1] == "/" and path[1:2] != "/" and path.isascii():
            return path
        return "/" + _wsgi_text(path).lstrip("/")

    @cached
    def root_path(self) -> str:
        """Where the app is mounted (SCRIPT_NAME), without a trailing slash."""
        return _wsgi_text(self.environ.get("SCRIPT_NAME", "")).rstrip("/")

    @property
    def script_root(self) -> str:
        return self.root_path

    @cached
    def query_string(self) -> bytes:
        return str(self.environ.get("QUERY_STRING", "")).encode("latin-1")

    @cached
    def args(self) -> ImmutableMultiDict:
        """The parsed query string."""
        query = self.environ.get("QUERY_STRING")
        if not query:
            return _EMPTY_ARGS
        return self.parameter_storage_class(parse_query_string(_wsgi_text(query)))

    @property
    def full_path(self) -> str:
        return f"{self.path}?{_wsgi_text(self.environ.get('QUERY_STRING', ''))}"

    @cached
    def host(self) -> str:
        """Host and port as the client asked for them, checked against ``trusted_hosts``."""
        environ = self.environ
        host = environ.get("HTTP_HOST")
        scheme = self.scheme
        if host:
            if (scheme == "http" and host.endswith(":80")) or (
                scheme == "https" and host.endswith(":443")
            ):
                host = host.rpartition(":")[0]
        else:
            host = environ.get("SERVER_NAME", "")
            port = str(environ.get("SERVER_PORT", ""))
            if port and (scheme, port) not in (("http", "80"), ("https", "443")):
                host = f"{host}:{port}"
        if any(char in host for char in "/?#@ \\\t"):
            raise BadHost(f"The Host header {host!r} is not a valid host.")
        if self.trusted_hosts is not None and not _host_is_trusted(host, self.trusted_hosts):
            raise BadHost(f"Host {host!r} is not trusted.")
        return str(host)

    @property
    def host_url(self) -> str:
        return f"{self.scheme}://{self.host}/"

    @property
    def root_url(self) -> str:
        return f"{self.scheme}://{self.host}{quote(self.root_path, safe=_URL_SAFE)}/"

    url_root = root_url

    @property
    def base_url(self) -> str:
        """The URL without the query string."""
        path = quote(self.root_path + self.path, safe=_URL_SAFE)
        return f"{self.scheme}://{self.host}{path}"

    @property
    def url(self) -> str:
        query = self.environ.get("QUERY_STRING")
        if not query:
            return self.base_url
        return f"{self.base_url}?{quote(_wsgi_text(query), safe=_URL_SAFE + '?')}"

    @property
    def remote_addr(self) -> str | None:
        return self.environ.get("REMOTE_ADDR")

    @property
    def remote_user(self) -> str | None:
        return self.environ.get("REMOTE_USER")

    @cached
    def access_route(self) -> list[str]:
        """X-Forwarded-For addresses, client first, else the remote address."""
        forwarded = parse_list_header(self.environ.get("HTTP_X_FORWARDED_FOR"))
        if forwarded:
            return forwarded
        return [self.remote_addr] if self.remote_addr else []

    # --- headers ----------------------------------------------------------------------

    @cached
    def headers(self) -> EnvironHeaders:
        return EnvironHeaders(self.environ)

    @cached
    def cookies(self) -> ImmutableMultiDict:
        return parse_cookie(self.environ.get("HTTP_COOKIE"), self.parameter_storage_class)  # type: ignore[return-value]

    @property
    def content_type(self) -> str | None:
        return self.environ.get("CONTENT_TYPE") or None

    @cached
    def _parsed_content_type(self) -> tuple[str, dict[str, str]]:
        return parse_options_header(self.environ.get("CONTENT_TYPE"))

    @property
    def mimetype(self) -> str:
        """The content type without parameters, lower-cased (``application/json``)."""
        return self._parsed_content_type[0].lower()

    @property
    def mimetype_params(self) -> dict[str, str]:
        return self._parsed_content_type[1]

    @cached
    def content_length(self) -> int | None:
        return get_content_length(self.environ)

    @property
    def is_json(self) -> bool:
        mimetype = self.mimetype
        return mimetype == "application/json" or (
            mimetype.startswith("application/") and mimetype.endswith("+json")
        )

    @cached
    def accept_mimetypes(self) -> MIMEAccept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT"), MIMEAccept)  # type: ignore[return-value]

    @cached
    def accept_charsets(self) -> Accept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_CHARSET"))

    @cached
    def accept_encodings(self) -> Accept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_ENCODING"))

    @cached
    def accept_languages(self) -> LanguageAccept:
        return parse_accept_header(self.environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)  # type: ignore[return-value]

    @cached
    def user_agent(self) -> UserAgent:
        return UserAgent(self.environ.get("HTTP_USER_AGENT", ""))

    @cached
    def authorization(self) -> Authorization | None:
        return parse_authorization_header(self.environ.get("HTTP_AUTHORIZATION"))

    @cached
    def if_modified_since(self) -> datetime | None:
        return parse_date(self.environ.get("HTTP_IF_MODIFIED_SINCE"))

    @cached
    def if_unmodified_since(self) -> datetime | None:
        return parse_date(self.environ.get("HTTP_IF_UNMODIFIED_SINCE"))

    @cached
    def if_none_match(self) -> ETags:
        return parse_etags(self.environ.get("HTTP_IF_NONE_MATCH"))

    @cached
    def if_match(self) -> ETags:
        return parse_etags(self.environ.get("HTTP_IF_MATCH"))

    @cached
    def range(self) -> Range | None:
        return parse_range_header(self.environ.get("HTTP_RANGE"))

    @cached
    def cache_control(self) -> ResponseCacheControl:
        return parse_cache_control_header(self.environ.get("HTTP_CACHE_CONTROL"))

    @property
    def referrer(self) -> str | None:
        return self.environ.get("HTTP_REFERER")

    @property
    def origin(self) -> str | None:
        return self.environ.get("HTTP_ORIGIN")

    # --- routing results (set by the app layer) ---------------------------------------

    @property
    def endpoint(self) -> str | None:
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The innermost blueprint's dotted name (``parent.child``), or None."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]

    # --- the body ---------------------------------------------------------------------

    @property
    def input_stream(self) -> IO[bytes]:
        """The raw WSGI input: no length limit, so prefer ``stream``."""
        return self.environ["wsgi.input"]  # type: ignore[no-any-return]

    @cached
    def stream(self) -> IO[bytes]:
        """The body, stopping at Content-Length; 413 if over ``max_content_length``."""
        if self.shallow:
            raise RuntimeError(
                "This request was created with shallow=True, so it may not read the body."
                " Create it without shallow to read form data or the stream."
            )
        return get_input_stream(self.environ, self.max_content_length)

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> Any:
        """The body as bytes (or text). With ``parse_form_data``, form bodies go to ``form``."""
        data = self.__dict__.get("_cached_data")
        if data is None:
            if parse_form_data:
                self._load_form_data()
            data = self.stream.read()
            if cache:
                self.__dict__["_cached_data"] = data
        return data.decode("utf-8", "replace") if as_text else data

    @property
    def data(self) -> bytes:
        """The body as bytes; empty when it was a form (read ``form`` instead)."""
        return self.get_data(parse_form_data=True)  # type: ignore[no-any-return]

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        if self.mimetype in _FORM_MIMETYPES:
            parser = self.form_data_parser_class(
                max_form_memory_size=self.max_form_memory_size,
                max_content_length=self.max_content_length,
                cls=self.parameter_storage_class,
                max_form_parts=self.max_form_parts,
            )
            cached_data = self.__dict__.get("_cached_data")
            stream = self.stream if cached_data is None else BytesIO(cached_data)
            _, form, files = parser.parse(
                stream, self.mimetype, self.content_length, self.mimetype_params
            )
        else:
            form = files = self.parameter_storage_class()
        self.__dict__["form"] = form
        self.__dict__["files"] = files

    @cached
    def form(self) -> ImmutableMultiDict:
        """Fields of a urlencoded or multipart body (400 if malformed, 413 if too big)."""
        self._load_form_data()
        return self.__dict__["form"]  # type: ignore[no-any-return]

    @cached
    def files(self) -> ImmutableMultiDict:
        """Uploaded files of a multipart body, as FileStorage objects."""
        self._load_form_data()
        return self.__dict__["files"]  # type: ignore[no-any-return]

    @cached
    def values(self) -> CombinedMultiDict:
        """``args`` and ``form`` together; for GET only ``args``, as Werkzeug does."""
        if self.method == "GET":
            return CombinedMultiDict([self.args])
        return CombinedMultiDict([self.args, self.form])

    @property
    def json(self) -> Any:
        return self.get_json()

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the body as JSON; 415 if it is not JSON (unless ``force``), 400 if invalid.

        ``silent`` returns None instead of raising.
        """
        key = "_json_silent" if silent else "_json"
        if cache and key in self.__dict__:
            return self.__dict__[key]
        if not (force or self.is_json):
            return None if silent else self.on_json_loading_failed(None)
        try:
            result = self.json_module.loads(self.get_data(cache=cache))
        except (ValueError, RecursionError) as error:
            if silent:
                result = None
            else:
                return self.on_json_loading_failed(error)
        if cache:
            self.__dict__[key] = result
            if not silent:
                self.__dict__["_json_silent"] = result
        return result

    def on_json_loading_failed(self, error: Exception | None) -> Any:
        """Called when ``get_json`` fails; raise (or return a fallback) in a subclass."""
        if error is None:
            raise UnsupportedMediaType(
                "Did not attempt to load JSON data because the request Content-Type was not"
                " 'application/json'."
            )
        ctx = _cv_app.get(None)
        if ctx is not None and ctx.app.debug:
            raise BadRequest(f"Failed to decode JSON object: {error}")
        # The parser's message quotes the body back; clients get the plain 400, as in Flask.
        raise BadRequest() from error

    def close(self) -> None:
        """Close uploaded files; the app layer calls this when the request ends."""
        files = self.__dict__.get("files")
        if files:
            for storages in files.listvalues():
                for storage in storages:
                    storage.close()

    def __enter__(self) -> Request:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _host_is_trusted(host: str, trusted: Iterable[str]) -> bool:
    """Whether ``host`` (port ignored) is in the list; ``.example.com`` also allows subdomains."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    for entry in trusted:
        entry = entry.lower().rstrip(".")
        if entry.startswith("."):
            if name == entry[1:] or name.endswith(entry):
                return True
        elif name == entry:
            return True
    return False
