"""Signed-cookie sessions: round trip, tamper evidence, expiry, cookie options, null session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from markupsafe import Markup

from treadle import Treadle, session
from treadle.sessions import NullSession, SecureCookieSession, TaggedJSONSerializer


def _set_and_get(app: Treadle) -> None:
    @app.get("/set")
    def set_value() -> str:
        session["value"] = "stored"
        return "set"

    @app.get("/get")
    def get_value() -> str:
        return session.get("value", "missing")


def test_session_round_trip_through_cookie(app: Treadle, client: Any) -> None:
    _set_and_get(app)
    rv = client.get("/set")
    assert "session=" in rv.headers["Set-Cookie"]
    assert client.get("/get").data == b"stored"


def test_session_cookie_is_http_only_and_path_root(app: Treadle, client: Any) -> None:
    _set_and_get(app)
    cookie = client.get("/set").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "Path=/" in cookie


def test_tampered_cookie_gives_empty_session(app: Treadle, client: Any) -> None:
    _set_and_get(app)
    client.get("/set")
    cookie = client.get_cookie("session")
    client.set_cookie("session", cookie.value[:-2] + "xx")
    assert client.get("/get").data == b"missing"


def test_cookie_signed_with_other_key_is_rejected(app: Treadle, client: Any) -> None:
    _set_and_get(app)
    client.get("/set")
    app.secret_key = "a different key"
    assert client.get("/get").data == b"missing"


def test_secret_key_fallbacks_still_verify_old_cookies(app: Treadle, client: Any) -> None:
    _set_and_get(app)
    client.get("/set")
    app.config["SECRET_KEY_FALLBACKS"] = ["test key"]
    app.secret_key = "rotated key"
    assert client.get("/get").data == b"stored"


def test_session_values_keep_their_types(app: Treadle, client: Any) -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    uid = UUID("12345678-1234-5678-1234-567812345678")
    payload = {"t": (1, 2), "b": b"\x00\xff", "m": Markup("<b>x</b>"), "u": uid, "d": when, "n": {" t": "tricky"}}

    @app.get("/set")
    def set_value() -> str:
        session.update(payload)
        return ""

    @app.get("/check")
    def check() -> str:
        return str(all(session[key] == value and type(session[key]) is type(value) for key, value in payload.items()))

    client.get("/set")
    assert client.get("/check").data == b"True"


def test_tagged_serializer_round_trips_nested_values() -> None:
    serializer = TaggedJSONSerializer()
    value = {"a": [(1, b"x")], "b": {"c": (None,)}}
    assert serializer.loads(serializer.dumps(value)) == value


def test_emptied_session_deletes_cookie(app: Treadle, client: Any) -> None:
    _set_and_get(app)

    @app.get("/clear")
    def clear() -> str:
        session.clear()
        return ""

    client.get("/set")
    rv = client.get("/clear")
    assert "session=;" in rv.headers["Set-Cookie"] or 'session="";' in rv.headers["Set-Cookie"]
    assert client.get_cookie("session") is None


def test_reading_session_adds_vary_cookie(app: Treadle, client: Any) -> None:
    app.get("/read")(lambda: str(session.get("x")))
    rv = client.get("/read")
    assert "Cookie" in rv.headers.get("Vary", "")
    assert "Set-Cookie" not in rv.headers


def test_unmodified_session_sets_no_cookie(app: Treadle, client: Any) -> None:
    _set_and_get(app)
    client.get("/set")
    assert "Set-Cookie" not in client.get("/get").headers


def test_permanent_session_has_expiry(app: Treadle, client: Any) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=2)

    @app.get("/perm")
    def perm() -> str:
        session.permanent = True
        session["x"] = 1
        return ""

    cookie = client.get("/perm").headers["Set-Cookie"]
    assert "Expires=" in cookie


def test_permanent_session_is_refreshed_without_access(app: Treadle, client: Any) -> None:
    @app.get("/perm")
    def perm() -> str:
        session.permanent = True
        session["x"] = 1
        return ""

    app.get("/other")(lambda: "untouched")
    client.get("/perm")
    assert "Set-Cookie" in client.get("/other").headers


def test_refresh_each_request_off_skips_refresh(app: Treadle, client: Any) -> None:
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False

    @app.get("/perm")
    def perm() -> str:
        session.permanent = True
        session["x"] = 1
        return ""

    app.get("/other")(lambda: "untouched")
    client.get("/perm")
    assert "Set-Cookie" not in client.get("/other").headers


def test_expired_cookie_gives_empty_session(app: Treadle, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _set_and_get(app)
    client.get("/set")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=0)
    import time

    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 10)
    assert client.get("/get").data == b"missing"


def test_cookie_options_come_from_config(app: Treadle, client: Any) -> None:
    app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_HTTPONLY=False,
    )

    @app.get("/app/set")
    def set_value() -> str:
        session["a"] = 1
        return ""

    cookie = client.get("/app/set").headers["Set-Cookie"]
    assert cookie.startswith("sid=")
    assert "Secure" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/app" in cookie
    assert "HttpOnly" not in cookie


def test_partitioned_cookie_option(app: Treadle, client: Any) -> None:
    app.config["SESSION_COOKIE_PARTITIONED"] = True
    _set_and_get(app)
    assert "Partitioned" in client.get("/set").headers["Set-Cookie"]


def test_without_secret_key_reading_works_and_writing_explains(client: Any, app: Treadle) -> None:
    app.secret_key = None
    app.get("/read")(lambda: str(session.get("x")))

    @app.get("/write")
    def write() -> str:
        session["x"] = 1
        return ""

    assert client.get("/read").data == b"None"
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/write")


def test_null_session_is_never_saved(app: Treadle) -> None:
    app.secret_key = None
    with app.test_request_context():
        assert isinstance(session._get_current_object(), NullSession)  # type: ignore[attr-defined]


def test_session_tracks_modified_and_accessed() -> None:
    s = SecureCookieSession({"a": 1})
    assert not s.modified and not s.accessed
    s.get("a")
    assert s.accessed and not s.modified
    s["b"] = 2
    assert s.modified


def test_session_transaction_sets_values_for_next_request(app: Treadle, client: Any) -> None:
    _set_and_get(app)
    with client.session_transaction() as sess:
        sess["value"] = "from transaction"
    assert client.get("/get").data == b"from transaction"


def test_session_transaction_reads_cookie_session(app: Treadle, client: Any) -> None:
    _set_and_get(app)
    client.get("/set")
    with client.session_transaction() as sess:
        assert sess["value"] == "stored"


def test_custom_session_interface_is_used(app: Treadle, client: Any) -> None:
    from treadle.sessions import SessionInterface

    store: dict[str, Any] = {}

    class MemoryInterface(SessionInterface):
        def open_session(self, app: Any, request: Any) -> Any:
            return SecureCookieSession(store)

        def save_session(self, app: Any, session: Any, response: Any) -> None:
            store.update(session)

    app.session_interface = MemoryInterface()
    _set_and_get(app)
    client.get("/set")
    assert store == {"value": "stored"}


def test_subclass_with_own_open_session_is_opened_eagerly(app: Treadle, client: Any) -> None:
    from treadle.sessions import SecureCookieSessionInterface

    class Defaulting(SecureCookieSessionInterface):
        def open_session(self, app: Any, request: Any) -> Any:
            session = super().open_session(app, request)
            if session is not None:
                session.setdefault("visits", 0)
            return session

    app.session_interface = Defaulting()
    app.get("/")(lambda: "untouched")
    assert "session=" in client.get("/").headers.get("Set-Cookie", "")


def test_default_interface_opens_lazily(app: Treadle) -> None:
    assert app.session_interface.open_lazily
