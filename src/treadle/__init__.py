"""Treadle: a Flask-compatible web framework with a production-grade server.

The names Flask exports, under the same names (``Flask`` is ``Treadle``). Template
rendering loads Jinja2 on first use, so ``import treadle`` stays fast.
"""

from __future__ import annotations

import sys as _sys
from typing import TYPE_CHECKING, Any

from treadle import json as json
from treadle.app import Treadle as Treadle
from treadle.blueprints import Blueprint as Blueprint
from treadle.config import Config as Config
from treadle.ctx import after_this_request as after_this_request
from treadle.ctx import copy_current_request_context as copy_current_request_context
from treadle.ctx import has_app_context as has_app_context
from treadle.ctx import has_request_context as has_request_context
from treadle.globals import current_app as current_app
from treadle.globals import g as g
from treadle.globals import request as request
from treadle.globals import session as session
from treadle.helpers import abort as abort
from treadle.helpers import flash as flash
from treadle.helpers import get_flashed_messages as get_flashed_messages
from treadle.helpers import get_template_attribute as get_template_attribute
from treadle.helpers import make_response as make_response
from treadle.helpers import redirect as redirect
from treadle.helpers import send_file as send_file
from treadle.helpers import send_from_directory as send_from_directory
from treadle.helpers import stream_with_context as stream_with_context
from treadle.helpers import url_for as url_for
from treadle.json import jsonify as jsonify
from treadle.signals import appcontext_popped as appcontext_popped
from treadle.signals import appcontext_pushed as appcontext_pushed
from treadle.signals import appcontext_tearing_down as appcontext_tearing_down
from treadle.signals import before_render_template as before_render_template
from treadle.signals import got_request_exception as got_request_exception
from treadle.signals import message_flashed as message_flashed
from treadle.signals import request_finished as request_finished
from treadle.signals import request_started as request_started
from treadle.signals import request_tearing_down as request_tearing_down
from treadle.signals import template_rendered as template_rendered
from treadle.wrappers import Request as Request
from treadle.wrappers import Response as Response

if TYPE_CHECKING:
    from treadle.templating import render_template as render_template
    from treadle.templating import render_template_string as render_template_string
    from treadle.templating import stream_template as stream_template
    from treadle.templating import stream_template_string as stream_template_string

__version__ = "0.1.0"

__all__ = [
    "Blueprint",
    "Config",
    "Request",
    "Response",
    "Treadle",
    "abort",
    "after_this_request",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "copy_current_request_context",
    "current_app",
    "flash",
    "g",
    "get_flashed_messages",
    "get_template_attribute",
    "got_request_exception",
    "has_app_context",
    "has_request_context",
    "json",
    "jsonify",
    "make_response",
    "message_flashed",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "stream_with_context",
    "template_rendered",
    "url_for",
]

# Names whose module imports Jinja2: loaded on first access.
_TEMPLATING = frozenset(
    {"render_template", "render_template_string", "stream_template", "stream_template_string"}
)


def __getattr__(name: str) -> Any:
    if name in _TEMPLATING:
        from treadle import templating

        value = getattr(templating, name)
        # Cache on the package (``globals`` here is the treadle.globals submodule).
        _sys.modules[__name__].__dict__[name] = value
        return value
    raise AttributeError(f"module 'treadle' has no attribute {name!r}")
