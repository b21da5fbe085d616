"""The test client: call the app in-process with built WSGI environs, keep cookies, follow
redirects, and (inside ``with client:``) keep the last request's context for assertions.

Request arguments become an environ through ``treadle.environbuilder.EnvironBuilder``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

from treadle.environbuilder import EnvironBuilder, encode_multipart
from treadle.httputil import parse_date

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

    from treadle.app import Treadle
    from treadle.cli import TreadleCliRunner as TreadleCliRunner
    from treadle.sessions import SessionMixin
    from treadle.wrappers import Request, Response

__all__ = [
    "ClientRedirectError",
    "Cookie",
    "EnvironBuilder",
    "TestResponse",
    "TreadleCliRunner",
    "TreadleClient",
    "encode_multipart",
]

_REDIRECT_CODES = frozenset({301, 302, 303, 305, 307, 308})


class ClientRedirectError(Exception):
    """``follow_redirects`` met a redirect loop."""


def _cookie_origin(environ: Mapping[str, Any]) -> tuple[str, str]:
    """``(host name, full path)`` of a request, for matching and scoping cookies."""
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "localhost"
    if not host.endswith("]"):
        host = host.rsplit(":", 1)[0]
    return host.lower(), environ.get("SCRIPT_NAME", "") + (environ.get("PATH_INFO") or "/")


# -- cookies --------------------------------------------------------------------------------


@dataclass
class Cookie:
    """A cookie the client holds, as set by a response (or by ``set_cookie``)."""

    key: str
    value: str
    domain: str
    path: str
    origin_only: bool = True
    expires: datetime | None = None
    max_age: int | None = None
    secure: bool = False
    http_only: bool = False
    same_site: str | None = None

    @property
    def decoded_value(self) -> str:
        from treadle.httputil import parse_cookie

        return str(parse_cookie(f"x={self.value}").get("x", ""))

    @property
    def _expired(self) -> bool:
        if self.max_age is not None and self.max_age <= 0:
            return True
        return self.expires is not None and self.expires <= datetime.now(UTC)

    def _matches(self, server_name: str, path: str) -> bool:
        if server_name != self.domain and (
            self.origin_only or not server_name.endswith(f".{self.domain}")
        ):
            return False
        if path == self.path or self.path == "/":
            return True
        return path.startswith(self.path if self.path.endswith("/") else f"{self.path}/")

    @classmethod
    def from_set_cookie(cls, server_name: str, request_path: str, header: str) -> Cookie:
        """Parse a Set-Cookie value received for a request to ``server_name``/``request_path``."""
        first, *attributes = header.split(";")
        key, _, value = first.partition("=")
        cookie = cls(key.strip(), value.strip(), server_name, request_path.rpartition("/")[0] or "/")
        for attribute in attributes:
            name, _, attr_value = attribute.partition("=")
            name = name.strip().lower()
            attr_value = attr_value.strip()
            if name == "domain" and attr_value:
                cookie.domain = attr_value.lstrip(".").lower()
                cookie.origin_only = False
            elif name == "path" and attr_value.startswith("/"):
                cookie.path = unquote(attr_value)
            elif name == "expires":
                cookie.expires = parse_date(attr_value)
            elif name == "max-age":
                with suppress(ValueError):
                    cookie.max_age = int(attr_value)
            elif name == "secure":
                cookie.secure = True
            elif name == "httponly":
                cookie.http_only = True
            elif name == "samesite":
                cookie.same_site = attr_value
        if cookie.max_age is not None and cookie.max_age > 0:
            cookie.expires = datetime.now(UTC) + timedelta(seconds=cookie.max_age)
        return cookie


# -- responses ------------------------------------------------------------------------------


class TestResponse:
    """Mixed into the app's response class for test results: adds ``request``, ``history``, ``text``."""

    __test__ = False  # not a pytest test class
    request: Request
    history: tuple[Any, ...]

    def __init__(
        self,
        response: Iterable[bytes],
        status: str,
        headers: list[tuple[str, str]],
        request: Request,
        history: tuple[Any, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(response, status, headers, **kwargs)  # type: ignore[call-arg]
        self.request = request
        self.history = history

    @property
    def text(self) -> str:
        """The body decoded as text."""
        return self.get_data(as_text=True)  # type: ignore[attr-defined,no-any-return]


_wrapper_classes: dict[type[Any], type[Any]] = {}


def _test_response_class(response_class: type[Response]) -> type[Any]:
    cls = _wrapper_classes.get(response_class)
    if cls is None:
        cls = type("TestResponse", (TestResponse, response_class), {"__test__": False})
        _wrapper_classes[response_class] = cls
    return cls


def run_wsgi_app(
    app: WSGIApplication, environ: WSGIEnvironment, buffered: bool = False
) -> tuple[Iterable[bytes], str, list[tuple[str, str]]]:
    """Call a WSGI app: ``(body iterable, status, headers)``; ``buffered`` reads the body now."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append

    app_iter = app(environ, start_response)
    if buffered:
        try:
            body: Iterable[bytes] = [*written, *app_iter]
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        return body, started[0], started[1]
    iterator = iter(app_iter)
    first: list[bytes] = []
    while not started:  # a generator app calls start_response on its first step
        try:
            first.append(next(iterator))
        except StopIteration:
            break
    if not started:
        raise RuntimeError("The WSGI application never called start_response().")
    return _ClosingIterator([*written, *first], iterator, app_iter), started[0], started[1]


class _ClosingIterator:
    """The rest of a WSGI body, closing the app's iterable when the response is closed."""

    def __init__(self, head: list[bytes], rest: Iterator[bytes], source: Iterable[bytes]) -> None:
        self._head = head
        self._rest = rest
        self._source = source

    def __iter__(self) -> Iterator[bytes]:
        yield from self._head
        yield from self._rest

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()


# -- the client -----------------------------------------------------------------------------


class TreadleClient:
    """Make requests to an app without a server; see ``Treadle.test_client``.

    Inside ``with client:`` the context of the last request stays pushed until the block
    ends (or the next request), so ``request`` and ``session`` can be inspected.
    """

    __test__ = False

    def __init__(
        self,
        application: Treadle,
        response_wrapper: type[Response] | None = None,
        use_cookies: bool = True,
        allow_subdomain_redirects: bool = False,
    ) -> None:
        self.application = application
        self.response_wrapper = _test_response_class(response_wrapper or application.response_class)
        self._cookies: dict[tuple[str, str, str], Cookie] | None = {} if use_cookies else None
        self.allow_subdomain_redirects = allow_subdomain_redirects
        self.environ_base: dict[str, Any] = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": "treadle-test-client",
        }
        self.preserve_context = False
        self._new_contexts: list[Any] = []
        self._context_stack = ExitStack()

    # cookies

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> Cookie | None:
        """The stored cookie with this name, domain and path, if any."""
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        return self._cookies.get((domain, path, key))

    def set_cookie(
        self, key: str, value: str = "", *, domain: str = "localhost", origin_only: bool = True, path: str = "/", **kwargs: Any
    ) -> None:
        """Store a cookie as if a response had set it (``dump_cookie`` options are accepted)."""
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        from treadle.httputil import dump_cookie

        cookie = Cookie.from_set_cookie(domain, "/", dump_cookie(key, value, path=path, **kwargs))
        cookie.domain = domain
        cookie.origin_only = origin_only
        self._store_cookie(cookie)

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/", **kwargs: Any) -> None:
        """Forget a stored cookie."""
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        self._cookies.pop((domain, path, key), None)

    def _store_cookie(self, cookie: Cookie) -> None:
        assert self._cookies is not None
        storage_key = (cookie.domain, cookie.path, cookie.key)
        if cookie._expired:
            self._cookies.pop(storage_key, None)
        else:
            self._cookies[storage_key] = cookie

    def _add_cookies_to_wsgi(self, environ: dict[str, Any]) -> None:
        if self._cookies is None:
            return
        server_name, path = _cookie_origin(environ)
        for cookie in [c for c in self._cookies.values() if c._expired]:
            self._cookies.pop((cookie.domain, cookie.path, cookie.key), None)
        value = "; ".join(
            f"{c.key}={c.value}" for c in self._cookies.values() if c._matches(server_name, path)
        )
        if value:
            environ["HTTP_COOKIE"] = value
        else:
            environ.pop("HTTP_COOKIE", None)

    def _update_cookies_from_response(self, server_name: str, path: str, headers: list[str]) -> None:
        if self._cookies is None:
            return
        for header in headers:
            self._store_cookie(Cookie.from_set_cookie(server_name, path, header))

    @contextmanager
    def session_transaction(self, *args: Any, **kwargs: Any) -> Iterator[SessionMixin]:
        """Open the session the client's cookies carry; changes are saved back on exit."""
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        app = self.application
        ctx = app.test_request_context(*args, **kwargs)
        self._add_cookies_to_wsgi(ctx.request.environ)
        interface = app.session_interface
        with ctx:
            session = interface.open_session(app, ctx.request)
        if session is None:
            raise RuntimeError("Session backend did not open a session.")
        yield session
        if interface.is_null_session(session):
            return
        response = app.response_class()
        with ctx:
            interface.save_session(app, session, response)
        self._update_cookies_from_response(
            *_cookie_origin(ctx.request.environ), response.headers.getlist("Set-Cookie")
        )

    # requests

    def _environ_base(self, extra: Mapping[str, Any] | None) -> dict[str, Any]:
        base = {**self.environ_base, **(extra or {})}
        if self.preserve_context:
            base["treadle.preserve_context"] = self._new_contexts.append
        return base

    def open(self, *args: Any, buffered: bool = False, follow_redirects: bool = False, **kwargs: Any) -> Any:
        """Make a request; arguments are those of ``EnvironBuilder`` (path, method, data, ...)."""
        if args and isinstance(args[0], EnvironBuilder):
            builder = args[0]
            builder.environ_base = self._environ_base(builder.environ_base)
        elif args and isinstance(args[0], dict):
            environ = {**self._environ_base(None), **args[0]}
            return self._finish(self._run(environ, buffered), environ, buffered, follow_redirects, None)
        else:
            kwargs["environ_base"] = self._environ_base(kwargs.get("environ_base"))
            builder = EnvironBuilder(self.application, *args, **kwargs)
        environ = builder.get_environ()
        return self._finish(self._run(environ, buffered), environ, buffered, follow_redirects, builder)

    def _run(self, environ: dict[str, Any], buffered: bool) -> Any:
        # Contexts kept from the previous request in a `with client:` block end here.
        self._context_stack.close()
        self._add_cookies_to_wsgi(environ)
        body, status, headers = run_wsgi_app(self.application, environ, buffered=buffered)
        request = self.application.request_class(environ, populate_request=False)
        response = self.response_wrapper(body, status, headers, request=request)
        response.json_module = self.application.json
        self._update_cookies_from_response(*_cookie_origin(environ), response.headers.getlist("Set-Cookie"))
        for cm in self._new_contexts:
            self._context_stack.enter_context(cm)
        self._new_contexts.clear()
        return response

    def _finish(
        self, response: Any, environ: dict[str, Any], buffered: bool, follow_redirects: bool, builder: EnvironBuilder | None
    ) -> Any:
        history: list[Any] = []
        seen: set[tuple[str, int]] = set()
        while follow_redirects and response.status_code in _REDIRECT_CODES and builder is not None:
            location = response.headers.get("Location")
            if location is None:
                break
            step = (location, response.status_code)
            if step in seen:
                raise ClientRedirectError(
                    f"Loop detected: a {response.status_code} redirect to {location} was already made."
                )
            seen.add(step)
            response.get_data()
            response.close()
            response.history = tuple(history)
            history.append(response)
            builder = self._redirect_builder(builder, response, location)
            environ = builder.get_environ()
            response = self._run(environ, buffered)
        response.history = tuple(history)
        return response

    def _redirect_builder(self, previous: EnvironBuilder, response: Any, location: str) -> EnvironBuilder:
        current_url = f"{previous.url_scheme}://{previous.host}{previous.script_root}{previous.path}"
        target = urlsplit(urljoin(current_url, location))
        to_host = (target.hostname or previous.server_name).split(".")
        from_host = previous.server_name.split(".")
        if to_host != from_host:
            if to_host[-len(from_host) :] != from_host:
                raise RuntimeError("Following external redirects is not supported.")
            if not self.allow_subdomain_redirects:
                raise RuntimeError("Following subdomain redirects is not enabled.")
        keep_body = response.status_code in (307, 308)
        path = unquote(target.path) or "/"
        root = previous.script_root
        if root and (path == root or path.startswith(f"{root}/")):
            path = path[len(root) :] or "/"
        else:
            root = ""
        builder = EnvironBuilder(
            self.application,
            path=path,
            base_url=f"{target.scheme or previous.url_scheme}://{target.netloc or previous.host}{root}/",
            query_string=target.query,
            method=previous.method if keep_body else "GET",
            headers=previous.headers,
            environ_base=previous.environ_base,
        )
        if keep_body:
            builder.body = previous.body
            builder.content_type = previous.content_type
        return builder

    def get(self, *args: Any, **kw: Any) -> Any:
        """A GET request (see ``open``)."""
        kw["method"] = "GET"
        return self.open(*args, **kw)

    def post(self, *args: Any, **kw: Any) -> Any:
        """A POST request (see ``open``)."""
        kw["method"] = "POST"
        return self.open(*args, **kw)

    def put(self, *args: Any, **kw: Any) -> Any:
        """A PUT request (see ``open``)."""
        kw["method"] = "PUT"
        return self.open(*args, **kw)

    def patch(self, *args: Any, **kw: Any) -> Any:
        """A PATCH request (see ``open``)."""
        kw["method"] = "PATCH"
        return self.open(*args, **kw)

    def delete(self, *args: Any, **kw: Any) -> Any:
        """A DELETE request (see ``open``)."""
        kw["method"] = "DELETE"
        return self.open(*args, **kw)

    def head(self, *args: Any, **kw: Any) -> Any:
        """A HEAD request (see ``open``)."""
        kw["method"] = "HEAD"
        return self.open(*args, **kw)

    def options(self, *args: Any, **kw: Any) -> Any:
        """An OPTIONS request (see ``open``)."""
        kw["method"] = "OPTIONS"
        return self.open(*args, **kw)

    def trace(self, *args: Any, **kw: Any) -> Any:
        """A TRACE request (see ``open``)."""
        kw["method"] = "TRACE"
        return self.open(*args, **kw)

    def __enter__(self) -> TreadleClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(
        self, exc_type: type | None, exc_value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.preserve_context = False
        self._context_stack.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.application!r}>"


def __getattr__(name: str) -> Any:
    # The CLI runner needs click; import it only when asked for.
    if name == "TreadleCliRunner":
        from treadle.cli import TreadleCliRunner

        return TreadleCliRunner
    raise AttributeError(f"module 'treadle.testing' has no attribute {name!r}")
