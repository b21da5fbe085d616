"""The per-request path of the app: ``wsgi_app`` through hooks, view, response and teardown.

A request runs as one straight line: push the request context, run url_value_preprocessors
and before_request hooks, call the view, turn its return value into a response, run the
after_request hooks, save the session, then pop (teardown hooks). Errors go to the handler
registered for their status code or class, innermost blueprint first. Hook lists are read in
place; an endpoint's blueprint chain is computed once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache, partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from treadle.datastructures import Headers
from treadle.exceptions import BadRequest, BadRequestKeyError, HTTPException, InternalServerError
from treadle.globals import _cv_app, _cv_request, request
from treadle.routing import RequestRedirect
from treadle.scaffold import Scaffold
from treadle.signals import (
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)
from treadle.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from treadle.config import Config
    from treadle.ctx import RequestContext
    from treadle.json import JSONProvider
    from treadle.sessions import SessionInterface

__all__ = ["Dispatcher"]

_sentinel: Any = object()

_APP_ONLY: tuple[str | None, ...] = (None,)

_BAD_RESPONSE_TYPE = (
    "The view function did not return a valid response. The return type must be a string,"
    " dict, list, tuple with headers or status, Response instance, or WSGI callable, but it"
    " was a {}."
)


@lru_cache(maxsize=4096)
def _hook_names(endpoint: str | None) -> tuple[tuple[str | None, ...], tuple[str | None, ...]]:
    """``(app-first, innermost-first)`` hook owner names for an endpoint.

    ``"outer.inner.view"`` gives ``((None, "outer", "outer.inner"), ("outer.inner", "outer", None))``.
    """
    if endpoint is None or "." not in endpoint:
        return _APP_ONLY, _APP_ONLY
    parts = endpoint.rpartition(".")[0].split(".")
    outer_first = tuple(".".join(parts[: i + 1]) for i in range(len(parts)))
    return (None, *outer_first), (*reversed(outer_first), None)


_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect at startup


def _is_coroutine_function(func: Any) -> bool:
    """``inspect.iscoroutinefunction`` for functions, methods and partials, but cheap."""
    while isinstance(func, partial):
        func = func.func
    func = getattr(func, "__func__", func)
    code = getattr(func, "__code__", None)
    return code is not None and bool(code.co_flags & _CO_COROUTINE)


class Dispatcher(Scaffold):
    """The request-handling half of ``Treadle`` (the app sets the attributes declared here)."""

    config: Config
    response_class: type[Response]
    json: JSONProvider
    session_interface: SessionInterface
    teardown_appcontext_funcs: list[Callable[[BaseException | None], None]]
    logger: Any
    debug: bool
    testing: bool
    _got_first_request: bool
    _sync_cache: dict[Callable[..., Any], Callable[..., Any]]

    def request_context(self, environ: WSGIEnvironment) -> RequestContext:
        raise NotImplementedError

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` itself, or for a coroutine function a wrapper that runs it to completion."""
        if _is_coroutine_function(func):
            return self.async_to_sync(func)
        return func

    def async_to_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Run an async view or hook on a fresh event loop in the calling worker thread."""
        import asyncio
        from functools import update_wrapper

        def run(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run(func(*args, **kwargs))

        return update_wrapper(run, func)

    def _sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # ensure_sync for registered functions, remembered so the check is a dict lookup.
        try:
            return self._sync_cache[func]
        except KeyError:
            wrapped = self._sync_cache[func] = self.ensure_sync(func)
            return wrapped
        except TypeError:  # an unhashable callable
            return self.ensure_sync(func)

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI application proper; wrap this (not the app) to add WSGI middleware."""
        ctx = self.request_context(environ)
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                response = self.full_dispatch_request()
            except Exception as e:
                error = e
                response = self.handle_exception(e)
            except BaseException:
                error = sys.exc_info()[1]
                raise
            return response(environ, start_response)
        finally:
            preserve = environ.get("treadle.preserve_context")
            if preserve is not None:
                preserve(_cv_app.get())
                preserve(_cv_request.get())
            if error is not None and self.should_ignore_error(error):
                error = None
            ctx.pop(error)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.wsgi_app(environ, start_response)

    def full_dispatch_request(self) -> Response:
        """Hooks, view, error handling and response finishing for the current request."""
        self._got_first_request = True
        if request_started.receivers:
            request_started.send(self, _async_wrapper=self.ensure_sync)
        try:
            rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def preprocess_request(self) -> Any:
        """Run url_value_preprocessors then before_request hooks; a hook's return value wins."""
        preprocessors = self.url_value_preprocessors
        before = self.before_request_funcs
        if not (preprocessors or before):
            return None
        req = _cv_request.get().request
        names = _hook_names(req.endpoint)[0]
        if preprocessors:
            for name in names:
                for url_func in preprocessors.get(name, ()):
                    url_func(req.endpoint, req.view_args)
        if before:
            for name in names:
                for func in before.get(name, ()):
                    rv = self._sync(func)()
                    if rv is not None:
                        return rv
        return None

    def dispatch_request(self) -> Any:
        """Call the matched view with the URL's values (or raise the routing error)."""
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule = req.url_rule
        if req.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return self.make_default_options_response()
        return self._sync(self.view_functions[rule.endpoint])(**cast(dict[str, Any], req.view_args))

    def raise_routing_exception(self, request: Request) -> None:
        """Raise the 404/405/redirect found while matching the URL."""
        raise request.routing_exception  # type: ignore[misc]

    def make_default_options_response(self) -> Response:
        """The automatic OPTIONS answer: an empty 200 listing the allowed methods."""
        adapter = _cv_request.get().url_adapter
        methods = adapter.allowed_methods()  # type: ignore[union-attr]
        response = self.response_class()
        response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    def finalize_request(self, rv: Any, from_error_handler: bool = False) -> Response:
        """Turn a view's return value into the final response (after_request hooks, session)."""
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def make_response(self, rv: Any) -> Response:
        """Convert a view's return value (str, bytes, dict, list, iterator, tuple, Response,
        WSGI callable) into a ``response_class`` instance."""
        response_class = self.response_class
        rv_type = type(rv)
        if rv_type is str:
            return response_class(rv)
        if rv_type is dict or rv_type is list:
            return self.json.response(rv)
        if rv_type is response_class:
            return rv  # type: ignore[no-any-return]
        status: Any = None
        headers: Any = None
        if isinstance(rv, tuple):
            size = len(rv)
            if size == 3:
                rv, status, headers = rv
            elif size == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple. The tuple must"
                    " have the form (body, status, headers), (body, status), or (body, headers)."
                )
        if rv is None:
            raise TypeError(
                f"The view function for {request.endpoint!r} did not return a valid response."
                " The function either returned None or ended without a return statement."
            )
        if not isinstance(rv, response_class):
            if isinstance(rv, (str, bytes, bytearray, Iterator)):
                rv = response_class(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
            elif isinstance(rv, Response) or callable(rv):
                try:
                    rv = response_class.force_type(rv, request.environ)
                except TypeError as e:
                    raise TypeError(f"{e}\n{_BAD_RESPONSE_TYPE.format(type(rv).__name__)}") from e
            else:
                raise TypeError(_BAD_RESPONSE_TYPE.format(type(rv).__name__))
        response = cast(Response, rv)
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                response.status = status if isinstance(status, str) else bytes(status).decode("latin-1")
            else:
                response.status_code = status
        if headers:
            response.headers.update(headers)
        return response

    def process_response(self, response: Response) -> Response:
        """Run after_this_request and after_request functions, then save the session."""
        ctx = _cv_request.get()
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)
        after = self.after_request_funcs
        if after:
            for name in _hook_names(ctx.request.endpoint)[1]:
                funcs = after.get(name)
                if funcs:
                    for func in reversed(funcs):
                        response = self._sync(func)(response)
        interface = self.session_interface
        session = ctx._session
        if session is None and "HTTP_COOKIE" in ctx.request.environ:
            session = self._session_to_refresh(ctx, interface)
        if session is not None and not interface.is_null_session(session):
            interface.save_session(ctx.app, session, response)
        return response

    def _session_to_refresh(self, ctx: RequestContext, interface: SessionInterface) -> Any:
        # An unopened lazy session matters only when the client sent one: it may need
        # refreshing (a permanent session's expiry). Without a cookie there is nothing to do.
        if interface.get_cookie_name(ctx.app) not in ctx.request.cookies:
            return None
        ctx._session = ctx.open_session()
        return ctx._session

    def do_teardown_request(self, exc: BaseException | None = _sentinel) -> None:
        """Run teardown_request functions (innermost blueprint first, each list reversed)."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        teardown = self.teardown_request_funcs
        if teardown:
            for name in _hook_names(_cv_request.get().request.endpoint)[1]:
                funcs = teardown.get(name)
                if funcs:
                    for func in reversed(funcs):
                        self._sync(func)(exc)
        if request_tearing_down.receivers:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def do_teardown_appcontext(self, exc: BaseException | None = _sentinel) -> None:
        """Run teardown_appcontext functions, last registered first."""
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        funcs = self.teardown_appcontext_funcs
        if funcs:
            for func in reversed(funcs):
                self._sync(func)(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    # -- errors -----------------------------------------------------------------------------

    def _find_error_handler(self, e: Exception, blueprints: Iterable[str]) -> Callable[..., Any] | None:
        """The handler for ``e``: by status code first, then by class; innermost blueprint first."""
        exc_class, code = self._get_exc_class_and_code(type(e))
        names = (*blueprints, None)
        spec = self.error_handler_spec
        for c in (code, None) if code is not None else (None,):
            for name in names:
                by_code = spec.get(name)
                handlers = by_code.get(c) if by_code is not None else None
                if not handlers:
                    continue
                for cls in exc_class.__mro__:
                    handler = handlers.get(cls)
                    if handler is not None:
                        return handler
        return None

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTPException should propagate like any error instead of being a response."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, BadRequestKeyError):
            return True
        if trap_bad_request:
            return isinstance(e, BadRequest)
        return False

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Whether teardown functions should not see ``error`` (never, by default)."""
        return False

    def handle_http_exception(self, e: HTTPException) -> Any:
        """The registered handler's response for an HTTPException, or the exception itself."""
        if e.code is None or isinstance(e, RequestRedirect):
            return e
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            return e
        return self._sync(handler)(e)

    def handle_user_exception(self, e: Exception) -> Any:
        """Handle an exception raised by a hook or view; re-raise it when nothing handles it."""
        if isinstance(e, BadRequestKeyError) and (self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            raise
        return self._sync(handler)(e)

    def handle_exception(self, e: Exception) -> Response:
        """An unhandled error: re-raise it in debug/testing, else log it and answer 500."""
        exc_info = sys.exc_info()
        if got_request_exception.receivers:
            got_request_exception.send(self, _async_wrapper=self.ensure_sync, exception=e)
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            if exc_info[1] is e:
                raise
            raise e
        self.log_exception(exc_info)
        server_error: Any = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, request.blueprints)
        if handler is not None:
            server_error = self._sync(handler)(server_error)
        return self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled exception with the request's path and method."""
        self.logger.error(f"Exception on {request.path} [{request.method}]", exc_info=exc_info)
