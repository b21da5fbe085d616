"""JSON for the app: the provider behind ``app.json``, ``jsonify`` and dict/list view returns.

The default provider also encodes dates (as HTTP dates), UUIDs, decimals, dataclasses and
objects with ``__html__``; it sorts keys, and is compact unless the app is in debug mode.
The module-level functions use the current app's provider when one is active.
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable
from datetime import date
from typing import IO, TYPE_CHECKING, Any

from treadle.globals import _cv_app

# The C pieces JSONEncoder.encode assembles; the compact response path calls them directly.
_c_make_encoder: Any = getattr(_json.encoder, "c_make_encoder", None)
_encode_ascii = _json.encoder.encode_basestring_ascii
_encode_unicode = _json.encoder.encode_basestring

if TYPE_CHECKING:
    from treadle.app import Treadle
    from treadle.wrappers import Response

__all__ = ["DefaultJSONProvider", "JSONProvider", "dump", "dumps", "jsonify", "load", "loads"]


class JSONProvider:
    """The interface ``app.json`` offers; subclass it to use another JSON library."""

    def __init__(self, app: Treadle) -> None:
        import weakref

        self._app_ref = weakref.ref(app)

    @property
    def _app(self) -> Treadle:
        app = self._app_ref()
        if app is None:
            raise RuntimeError("The app this JSON provider belongs to no longer exists.")
        return app

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize ``obj`` to a JSON string."""
        raise NotImplementedError

    def dump(self, obj: Any, fp: IO[str], **kwargs: Any) -> None:
        """Serialize ``obj`` to a text file."""
        fp.write(self.dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a JSON string or bytes."""
        raise NotImplementedError

    def load(self, fp: IO[Any], **kwargs: Any) -> Any:
        """Parse JSON from a file."""
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args and kwargs:
            raise TypeError("app.json.response() takes either args or kwargs, not both")
        if not args and not kwargs:
            return None
        if len(args) == 1:
            return args[0]
        return args or kwargs

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A JSON response for one value, several positional values (a list) or keywords (a dict)."""
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype="application/json")


def _default(o: Any) -> Any:
    if isinstance(o, date):
        from treadle.httputil import http_date

        return http_date(o)
    html = getattr(o, "__html__", None)
    if html is not None:
        return str(html())
    import dataclasses
    import decimal
    import uuid

    if isinstance(o, (decimal.Decimal, uuid.UUID)):
        return str(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class DefaultJSONProvider(JSONProvider):
    """JSON with the standard library, plus the extra types listed in the module docstring."""

    default: Callable[[Any], Any] = staticmethod(_default)
    ensure_ascii = True
    sort_keys = True
    compact: bool | None = None
    mimetype = "application/json"

    def __init__(self, app: Treadle) -> None:
        super().__init__(app)
        self._encoders: dict[tuple[Any, ...], _json.JSONEncoder] = {}

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return _json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return _json.loads(s, **kwargs)

    def _encoder(self, pretty: bool) -> _json.JSONEncoder:
        # Response encoding reuses one encoder per setting instead of building one per call.
        key = (pretty, self.default, self.ensure_ascii, self.sort_keys)
        encoder = self._encoders.get(key)
        if encoder is None:
            encoder = _json.JSONEncoder(
                default=self.default,
                ensure_ascii=self.ensure_ascii,
                sort_keys=self.sort_keys,
                indent=2 if pretty else None,
                separators=None if pretty else (",", ":"),
            )
            self._encoders[key] = encoder
        return encoder

    def _encode_compact(self, obj: Any) -> str:
        # JSONEncoder.encode rebuilds its C encoder, and a closure, on every call; making
        # the C encoder directly does the same work in half the time. A fresh markers dict
        # per call keeps circular-reference detection, and keeps threads apart.
        if _c_make_encoder is None:  # an interpreter without the _json accelerator
            return self._encoder(False).encode(obj)
        encode = _c_make_encoder(
            {}, self.default,
            _encode_ascii if self.ensure_ascii else _encode_unicode,
            None, ":", ",", self.sort_keys, False, True,
        )
        return "".join(encode(obj, 0))

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A JSON response; indented in debug mode (unless ``compact``), compact otherwise."""
        obj = args[0] if len(args) == 1 and not kwargs else self._prepare_response_obj(args, kwargs)
        app = self._app
        compact = self.compact
        if compact is False or (compact is None and app.config["DEBUG"]):
            body = self._encoder(True).encode(obj)
        else:
            body = self._encode_compact(obj)
        return app.response_class(f"{body}\n", mimetype=self.mimetype)


def dumps(obj: Any, **kwargs: Any) -> str:
    """JSON-encode with the current app's provider (or the default rules outside an app)."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.dumps(obj, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def dump(obj: Any, fp: IO[str], **kwargs: Any) -> None:
    """``dumps`` to a text file."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.json.dump(obj, fp, **kwargs)
        return
    kwargs.setdefault("default", _default)
    _json.dump(obj, fp, **kwargs)


def loads(s: str | bytes, **kwargs: Any) -> Any:
    """JSON-decode with the current app's provider (or the standard library)."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def load(fp: IO[Any], **kwargs: Any) -> Any:
    """``loads`` from a file."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: Any, **kwargs: Any) -> Response:
    """A JSON response of the arguments, through the current app's ``json.response``."""
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError(
            "jsonify() needs an active application context to pick the response class;"
            " call it in a view, or inside 'with app.app_context():'."
        )
    return ctx.app.json.response(*args, **kwargs)
