"""Application and request contexts: what ``current_app``, ``g``, ``request`` and ``session`` see.

Pushing sets a ContextVar and keeps its token; popping resets with that token, runs the
teardown functions once (on the outermost pop) and checks that contexts pop in order.
The session is opened on first use, so requests that never touch it pay nothing for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from functools import update_wrapper
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from treadle.exceptions import HTTPException
from treadle.globals import _cv_app, _cv_request
from treadle.signals import appcontext_popped, appcontext_pushed

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from treadle.app import Treadle
    from treadle.routing import MapAdapter
    from treadle.sessions import SessionMixin
    from treadle.wrappers import Request, Response

__all__ = [
    "AppContext",
    "RequestContext",
    "after_this_request",
    "copy_current_request_context",
    "has_app_context",
    "has_request_context",
]

F = TypeVar("F", bound=Callable[..., Any])

_sentinel: Any = object()


class _AppCtxGlobals:
    """The ``g`` namespace: a plain object for storing data during one app context."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    if TYPE_CHECKING:
        # Tell type checkers that ``g.anything = value`` is fine; at run time the default
        # object behaviour already does this, without a Python-level call per assignment.
        def __setattr__(self, name: str, value: Any) -> None: ...

        def __delattr__(self, name: str) -> None: ...

    def get(self, name: str, default: Any | None = None) -> Any:
        """``name``'s value, or ``default`` when it was never set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: Any = _sentinel) -> Any:
        """Remove ``name`` and return its value (``default``, if given, when missing)."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: Any = None) -> Any:
        """``name``'s value, setting it to ``default`` first when missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return f"<treadle.g of '{ctx.app.name}'>"
        return object.__repr__(self)


def after_this_request(f: F) -> F:
    """Run ``f(response)`` on this request's response, before the app's after_request hooks."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request context is active,"
            " such as in a view function."
        )
    ctx._after_request_functions.append(f)
    return f


def copy_current_request_context(f: F) -> F:
    """Wrap ``f`` so that it runs inside a copy of the current request context.

    Use it for work handed to another thread or greenlet that still needs ``request``.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a request context is"
            " active, such as in a view function."
        )
    copied = ctx.copy()

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with copied:
            return ctx.app.ensure_sync(f)(*args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


def has_request_context() -> bool:
    """Whether a request context is active (``request`` and ``session`` are usable)."""
    return _cv_request.get(None) is not None


def has_app_context() -> bool:
    """Whether an application context is active (``current_app`` and ``g`` are usable)."""
    return _cv_app.get(None) is not None


class AppContext:
    """Makes ``current_app`` and ``g`` point at one app; pushed for each request and CLI command."""

    def __init__(self, app: Treadle) -> None:
        self.app = app
        self.url_adapter: MapAdapter | None = app.create_url_adapter(None)
        self.g: _AppCtxGlobals = app.app_ctx_globals_class()
        self._cv_tokens: list[Any] = []

    def push(self) -> None:
        """Make this the current app context."""
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        """Stop being current; on the outermost pop run the teardown_appcontext functions."""
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(
        self, exc_type: type | None, exc_value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.app.name}>"


class RequestContext:
    """Everything about one request: the Request, its URL adapter, session and flashes.

    Pushing it also pushes an app context when none for this app is active.
    """

    def __init__(
        self,
        app: Treadle,
        environ: WSGIEnvironment,
        request: Request | None = None,
        session: SessionMixin | None = None,
    ) -> None:
        self.app = app
        if request is None:
            request = app.request_class(environ)
            request.json_module = app.json
            config = app.config
            request.max_content_length = config["MAX_CONTENT_LENGTH"]
            request.max_form_memory_size = config["MAX_FORM_MEMORY_SIZE"]
            request.max_form_parts = config["MAX_FORM_PARTS"]
        self.request: Request = request
        self.url_adapter: MapAdapter | None = None
        try:
            self.url_adapter = app.create_url_adapter(request)
        except HTTPException as e:
            request.routing_exception = e
        self.flashes: list[tuple[str, str]] | None = None
        self._session: SessionMixin | None = session
        self._after_request_functions: list[Callable[[Response], Response]] = []
        self._cv_tokens: list[tuple[Any, AppContext | None]] = []

    def copy(self) -> RequestContext:
        """A new context over the same request and session, e.g. for another greenlet."""
        if self._session is None:
            self._session = self.open_session()  # opened now so that both share one session
        return type(self)(self.app, self.request.environ, self.request, self._session)

    def match_request(self) -> None:
        """Match the URL, storing the rule and view args, or the routing error to raise later."""
        try:
            self.request.url_rule, self.request.view_args = self.url_adapter.match(  # type: ignore[union-attr]
                return_rule=True
            )
        except HTTPException as e:
            self.request.routing_exception = e

    @property
    def session(self) -> SessionMixin:
        """The session, opened from the request on first use; reading it marks it accessed."""
        session = self._session
        if session is None:
            session = self._session = self.open_session()
        session.accessed = True
        return session

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    def open_session(self) -> SessionMixin:
        """Open the session through the app's session interface (a null one if it declines)."""
        interface = self.app.session_interface
        session = interface.open_session(self.app, self.request)
        if session is None:
            session = interface.make_null_session(self.app)
        return session

    def push(self) -> None:
        """Make this the current request context (and its app's context current too)."""
        app_ctx: AppContext | None = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
        else:
            app_ctx = None
        self._cv_tokens.append((_cv_request.set(self), app_ctx))
        if self._session is None and not self.app.session_interface.open_lazily:
            self._session = self.open_session()
        if self.url_adapter is not None:
            self.match_request()

    def pop(self, exc: BaseException | None = _sentinel) -> None:
        """Stop being current; on the outermost pop run teardown_request and close the request."""
        outermost = len(self._cv_tokens) == 1
        try:
            if outermost:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_request(exc)
                close = getattr(self.request, "close", None)
                if close is not None:
                    close()
        finally:
            ctx = _cv_request.get()
            token, app_ctx = self._cv_tokens.pop()
            _cv_request.reset(token)
            if outermost:
                # The request stores itself in its environ: break that cycle so the pair is
                # freed by reference counting instead of waiting for the garbage collector.
                self.request.environ.pop("treadle.request", None)
            if app_ctx is not None:
                app_ctx.pop(exc)
        if ctx is not self:
            raise AssertionError(f"Popped wrong request context. ({ctx!r} instead of {self!r})")

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(
        self, exc_type: type | None, exc_value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.request.url!r} [{self.request.method}] of {self.app.name}>"
