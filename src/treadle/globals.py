"""The context globals: ``current_app``, ``g``, ``request`` and ``session``.

Each is a proxy over one ContextVar, so it follows the thread (or task) that pushed a
context. Used outside one, a proxy raises an error that says which ``with`` block is missing.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from treadle.local import LocalProxy

if TYPE_CHECKING:
    from treadle.app import Treadle
    from treadle.ctx import AppContext, RequestContext, _AppCtxGlobals
    from treadle.sessions import SessionMixin
    from treadle.wrappers import Request

__all__ = ["app_ctx", "current_app", "g", "request", "request_ctx", "session"]

_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(), for example:

    with app.app_context():
        ...\
"""

_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. In a test or a script, set up a request context
with app.test_request_context(), or make a request with app.test_client().\
"""

_cv_app: ContextVar[AppContext] = ContextVar("treadle.app_ctx")
_cv_request: ContextVar[RequestContext] = ContextVar("treadle.request_ctx")

app_ctx: AppContext = LocalProxy(_cv_app, unbound_message=_no_app_msg)  # type: ignore[assignment]
current_app: Treadle = LocalProxy(_cv_app, "app", unbound_message=_no_app_msg)  # type: ignore[assignment]
g: _AppCtxGlobals = LocalProxy(_cv_app, "g", unbound_message=_no_app_msg)  # type: ignore[assignment]

request_ctx: RequestContext = LocalProxy(_cv_request, unbound_message=_no_req_msg)  # type: ignore[assignment]
request: Request = LocalProxy(_cv_request, "request", unbound_message=_no_req_msg)  # type: ignore[assignment]
session: SessionMixin = LocalProxy(_cv_request, "session", unbound_message=_no_req_msg)  # type: ignore[assignment]
