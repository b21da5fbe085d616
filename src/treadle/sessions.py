"""Sessions: a dict that records reads and writes, and a signed-cookie interface to store it.

The cookie is signed (itsdangerous, HMAC-SHA1, salt "cookie-session"), not encrypted: users
can read it but not change it. A cookie with a bad signature or past its age opens as an
empty session. The format matches Flask's, so a session survives a switch between the two.
"""

from __future__ import annotations

import json
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from treadle.httputil import http_date, parse_date

if TYPE_CHECKING:
    from itsdangerous import URLSafeTimedSerializer

    from treadle.app import Treadle
    from treadle.wrappers import Request, Response

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "TaggedJSONSerializer",
]


class TaggedJSONSerializer:
    """JSON that round-trips tuple, bytes, Markup, UUID and datetime through one-key tag dicts.

    ``(1, 2)`` is stored as ``{" t": [1, 2]}``; a real one-key dict whose key looks like a
    tag is escaped as ``{" di": {"key__": value}}``.
    """

    _TAGS = frozenset({" t", " b", " m", " u", " d", " di"})

    def tag(self, value: Any) -> Any:
        """``value`` with every non-JSON type replaced by its tag dict."""
        if isinstance(value, dict):
            if len(value) == 1:
                key = next(iter(value))
                if key in self._TAGS:
                    return {" di": {f"{key}__": self.tag(value[key])}}
            return {k: self.tag(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return {" t": [self.tag(item) for item in value]}
        if isinstance(value, list):
            return [self.tag(item) for item in value]
        if isinstance(value, bytes):
            from base64 import b64encode

            return {" b": b64encode(value).decode("ascii")}
        if callable(getattr(value, "__html__", None)):
            return {" m": str(value.__html__())}
        uuid = sys.modules.get("uuid")  # no UUID exists until someone imported uuid
        if uuid is not None and isinstance(value, uuid.UUID):
            return {" u": value.hex}
        if isinstance(value, datetime):
            return {" d": http_date(value)}
        return value

    def untag(self, value: dict[str, Any]) -> Any:
        """The object a decoded JSON object stands for (a JSON ``object_hook``)."""
        if len(value) != 1:
            return value
        key, item = next(iter(value.items()))
        if key == " t":
            return tuple(item)
        if key == " b":
            from base64 import b64decode

            return b64decode(item)
        if key == " m":
            from markupsafe import Markup

            return Markup(item)
        if key == " u":
            from uuid import UUID

            return UUID(item)
        if key == " d":
            return parse_date(item)
        if key == " di":
            inner_key, inner = next(iter(item.items()))
            return {inner_key[:-2]: inner}
        return value

    def dumps(self, value: Any) -> str:
        """Tag and encode compactly."""
        return json.dumps(self.tag(value), separators=(",", ":"))

    def loads(self, value: str | bytes) -> Any:
        """Decode and untag."""
        return json.loads(value, object_hook=self.untag)


session_json_serializer = TaggedJSONSerializer()


class SessionMixin(MutableMapping[str, Any]):
    """What every session offers besides the mapping: ``permanent``, ``new``, ``modified``, ``accessed``."""

    new = False
    modified = True
    accessed = True

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session (``PERMANENT_SESSION_LIFETIME``)."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)


class SecureCookieSession(dict[str, Any], SessionMixin):
    """The session dict; writes set ``modified`` (and ``accessed``), reads set ``accessed``."""

    modified = False
    accessed = False

    def __init__(self, initial: Any = None) -> None:
        super().__init__(initial or ())

    def _changed(self) -> None:
        self.modified = True
        self.accessed = True

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._changed()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._changed()
        super().__delitem__(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._changed()
        return super().setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self._changed()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        self._changed()
        return super().popitem()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._changed()
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def __ior__(self, other: Any) -> SecureCookieSession:  # type: ignore[override,misc]
        self.update(other)
        return self


class NullSession(SecureCookieSession):
    """The session when none can be stored: readable (empty), but any write says why not."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "The session is unavailable because no secret key was set. Set the secret_key on"
            " the application to something unique and secret, for example:\n\n"
            "    app.secret_key = secrets.token_hex()  # or SECRET_KEY in the config"
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail
    __ior__ = _fail


class SessionInterface:
    """How sessions are opened from a request and saved on a response.

    Subclass it and set ``app.session_interface`` to store sessions elsewhere. Make
    ``open_lazily`` true only if ``open_session`` reads nothing but the session cookie: then
    requests that never touch the session and carry no cookie skip it entirely.
    """

    null_session_class: type[SecureCookieSession] = NullSession
    pickle_based = False

    @property
    def open_lazily(self) -> bool:
        """Whether the session may be opened on first use instead of when the request starts."""
        return False

    def make_null_session(self, app: Treadle) -> SecureCookieSession:
        """The placeholder used when ``open_session`` returns None."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Whether ``obj`` is the placeholder (it is never saved)."""
        return isinstance(obj, self.null_session_class)

    def get_cookie_name(self, app: Treadle) -> str:
        return app.config["SESSION_COOKIE_NAME"]  # type: ignore[no-any-return]

    def get_cookie_domain(self, app: Treadle) -> str | None:
        return app.config["SESSION_COOKIE_DOMAIN"] or None

    def get_cookie_path(self, app: Treadle) -> str:
        return app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]  # type: ignore[no-any-return]

    def get_cookie_httponly(self, app: Treadle) -> bool:
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: Treadle) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_samesite(self, app: Treadle) -> str | None:
        return app.config["SESSION_COOKIE_SAMESITE"]  # type: ignore[no-any-return]

    def get_cookie_partitioned(self, app: Treadle) -> bool:
        return bool(app.config["SESSION_COOKIE_PARTITIONED"])

    def get_expiration_time(self, app: Treadle, session: SessionMixin) -> datetime | None:
        """When a permanent session's cookie expires; None (browser session) otherwise."""
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: Treadle, session: SessionMixin) -> bool:
        """Send the cookie when the session changed, or to refresh a permanent one's expiry."""
        return session.modified or (
            session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])
        )

    def open_session(self, app: Treadle, request: Request) -> SessionMixin | None:
        """The session for ``request``, or None to use the null session."""
        raise NotImplementedError

    def save_session(self, app: Treadle, session: SessionMixin, response: Response) -> None:
        """Store ``session`` (usually by setting a cookie on ``response``)."""
        raise NotImplementedError


def _sha1(data: bytes = b"") -> Any:
    import hashlib

    return hashlib.sha1(data)


class SecureCookieSessionInterface(SessionInterface):
    """Sessions stored in a signed cookie (the default)."""

    salt = "cookie-session"
    digest_method = staticmethod(_sha1)
    key_derivation = "hmac"
    serializer: Any = session_json_serializer
    session_class: type[SecureCookieSession] = SecureCookieSession
    _serializer_cache: tuple[Any, URLSafeTimedSerializer] | None = None

    @property
    def open_lazily(self) -> bool:
        # Only this class's own open_session is known to read nothing but the cookie.
        return type(self).open_session is SecureCookieSessionInterface.open_session

    def get_signing_serializer(self, app: Treadle) -> URLSafeTimedSerializer | None:
        """The signer for the app's SECRET_KEY (and fallbacks), or None without a key."""
        secret_key = app.secret_key
        if not secret_key:
            return None
        fallbacks = app.config["SECRET_KEY_FALLBACKS"] or ()
        cache_key = (secret_key, tuple(fallbacks))
        cached = self._serializer_cache
        if cached is not None and cached[0] == cache_key:
            return cached[1]
        from itsdangerous import URLSafeTimedSerializer

        # itsdangerous signs with the last key and accepts all of them.
        signer = URLSafeTimedSerializer(
            [*fallbacks, secret_key],
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )
        self._serializer_cache = (cache_key, signer)
        return signer

    def open_session(self, app: Treadle, request: Request) -> SecureCookieSession | None:
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        from itsdangerous import BadSignature

        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = signer.loads(value, max_age=max_age)
        except BadSignature:
            return self.session_class()
        if not isinstance(data, dict):
            return self.session_class()
        return self.session_class(data)

    def save_session(self, app: Treadle, session: SessionMixin, response: Response) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        if session.accessed:
            _vary_cookie(response)
        if not session:
            if session.modified:
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=secure,
                    partitioned=partitioned,
                    samesite=samesite,
                    httponly=httponly,
                )
                _vary_cookie(response)
            return
        if not self.should_set_cookie(app, session):
            return
        signer = self.get_signing_serializer(app)
        if signer is None:
            return
        response.set_cookie(
            name,
            signer.dumps(dict(session)),
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            partitioned=partitioned,
            samesite=samesite,
        )
        _vary_cookie(response)


def _vary_cookie(response: Response) -> None:
    response.vary.add("Cookie")

