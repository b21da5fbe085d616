"""URL routing with Werkzeug's API: ``Map``, ``Rule``, converters, ``MapAdapter``.

A Map holds the rules; ``map.bind(...)`` or ``map.bind_to_environ(environ)`` gives a
MapAdapter that matches a request to ``(endpoint, view_args)`` and builds URLs back.
Matching is a dict lookup for static URLs and a trie walk otherwise (see matcher.py).
"""

from __future__ import annotations

from treadle.routing.converters import (
    DEFAULT_CONVERTERS,
    AnyConverter,
    BaseConverter,
    FloatConverter,
    IntegerConverter,
    NumberConverter,
    PathConverter,
    UnicodeConverter,
    UUIDConverter,
    ValidationError,
    parse_converter_args,
)
from treadle.routing.exceptions import (
    BuildError,
    RequestRedirect,
    RoutingException,
    WebsocketMismatch,
)
from treadle.routing.map import Map, MapAdapter, RuleFactory
from treadle.routing.rules import Rule

__all__ = [
    "DEFAULT_CONVERTERS",
    "AnyConverter",
    "BaseConverter",
    "BuildError",
    "FloatConverter",
    "IntegerConverter",
    "Map",
    "MapAdapter",
    "NumberConverter",
    "PathConverter",
    "RequestRedirect",
    "RoutingException",
    "Rule",
    "RuleFactory",
    "UUIDConverter",
    "UnicodeConverter",
    "ValidationError",
    "WebsocketMismatch",
    "parse_converter_args",
]
