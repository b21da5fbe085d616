"""Contexts and globals: pushing, popping, g, helpful errors, copying, after_this_request."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from treadle import (
    Treadle,
    after_this_request,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
)


def test_current_app_outside_context_says_how_to_fix() -> None:
    with pytest.raises(RuntimeError, match=r"Working outside of application context(.|\n)*app\.app_context\(\)"):
        current_app.name  # noqa: B018


def test_request_outside_context_says_how_to_fix() -> None:
    with pytest.raises(RuntimeError, match=r"Working outside of request context(.|\n)*test_request_context"):
        request.path  # noqa: B018


def test_session_outside_context_is_a_request_context_error() -> None:
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        session.get("x")


def test_app_context_sets_current_app_and_g(app: Treadle) -> None:
    assert not has_app_context()
    with app.app_context():
        assert has_app_context()
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        g.user = "ann"
        assert g.get("user") == "ann"
    assert not has_app_context()


def test_g_is_fresh_per_app_context(app: Treadle) -> None:
    with app.app_context():
        g.value = 1
    with app.app_context():
        assert "value" not in g


def test_g_helpers(app: Treadle) -> None:
    with app.app_context():
        assert g.setdefault("a", 1) == 1
        assert g.pop("a") == 1
        assert g.pop("a", "gone") == "gone"
        assert g.get("missing", 5) == 5
        g.b = 2
        assert list(g) == ["b"]
        with pytest.raises(AttributeError):
            g.missing  # noqa: B018


def test_request_context_pushes_app_context(app: Treadle) -> None:
    with app.test_request_context("/path?x=1"):
        assert has_request_context()
        assert has_app_context()
        assert request.path == "/path"
        assert request.args["x"] == "1"
    assert not has_request_context()
    assert not has_app_context()


def test_request_context_reuses_active_app_context(app: Treadle) -> None:
    with app.app_context() as app_ctx:
        g.marker = "outer"
        with app.test_request_context():
            assert g.marker == "outer"
        assert has_app_context()
        assert app_ctx.app is app


def test_contexts_nest_and_restore(app: Treadle) -> None:
    other = Treadle("other")
    with app.app_context():
        with other.app_context():
            assert current_app.name == "other"
        assert current_app.name == "app_under_test"


def test_popping_wrong_context_is_an_error(app: Treadle) -> None:
    first = app.app_context()
    second = app.app_context()
    first.push()
    second.push()
    with pytest.raises(AssertionError, match="Popped wrong app context"):
        first.pop()
    # first's token restored the state from before first was pushed.
    assert not has_app_context()
    second._cv_tokens.clear()


def test_teardown_appcontext_gets_exception(app: Treadle) -> None:
    seen: list[BaseException | None] = []
    app.teardown_appcontext(seen.append)
    with pytest.raises(ValueError), app.app_context():
        raise ValueError("x")
    assert isinstance(seen[0], ValueError)


def test_context_is_per_thread(app: Treadle) -> None:
    seen: list[bool] = []
    with app.app_context():
        thread = threading.Thread(target=lambda: seen.append(has_app_context()))
        thread.start()
        thread.join(5)
    assert seen == [False]


def test_copy_current_request_context_in_thread(app: Treadle, client: Any) -> None:
    results: list[str] = []

    @app.get("/")
    def index() -> str:
        @copy_current_request_context
        def work() -> None:
            results.append(request.args["q"])

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(5)
        return "ok"

    client.get("/?q=copied")
    assert results == ["copied"]


def test_copy_current_request_context_requires_request() -> None:
    with pytest.raises(RuntimeError, match="request context is active"):
        copy_current_request_context(lambda: None)


def test_after_this_request_modifies_response(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> str:
        @after_this_request
        def add_header(response: Any) -> Any:
            response.headers["X-After"] = "yes"
            return response

        return "x"

    assert client.get("/").headers["X-After"] == "yes"


def test_after_this_request_runs_before_after_request(app: Treadle, client: Any) -> None:
    order: list[str] = []

    def hook(response: Any) -> Any:
        order.append("after_request")
        return response

    app.after_request(hook)

    @app.get("/")
    def index() -> str:
        def this(response: Any) -> Any:
            order.append("this")
            return response

        after_this_request(this)
        return "x"

    client.get("/")
    assert order == ["this", "after_request"]


def test_after_this_request_requires_request() -> None:
    with pytest.raises(RuntimeError, match="request context is active"):
        after_this_request(lambda r: r)


def test_session_is_not_opened_when_unused(app: Treadle, client: Any) -> None:
    opened: list[bool] = []
    interface = app.session_interface
    original = interface.open_session

    def spy(app_: Any, request_: Any) -> Any:
        opened.append(True)
        return original(app_, request_)

    interface.open_session = spy  # type: ignore[method-assign]
    try:
        app.get("/")(lambda: "no session here")
        rv = client.get("/")
        assert opened == []
        assert "Set-Cookie" not in rv.headers
        assert "Vary" not in rv.headers
    finally:
        del interface.open_session  # type: ignore[method-assign]


def test_session_opened_on_first_access(app: Treadle) -> None:
    with app.test_request_context() as ctx:
        assert ctx._session is None
        assert session.get("x") is None
        assert ctx._session is not None
        assert ctx._session.accessed


def test_request_repr_and_ctx_repr(app: Treadle) -> None:
    with app.test_request_context("/r") as ctx:
        assert "/r" in repr(ctx)
        assert "[GET]" in repr(ctx)


def test_request_max_content_length_comes_from_config(app: Treadle, client: Any) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    app.post("/")(lambda: request.get_data())
    rv = client.post("/", data=b"x" * 100)
    assert rv.status_code == 413


def test_g_accepts_any_attribute_under_mypy_strict(tmp_path: Path) -> None:
    user_code = tmp_path / "user_app.py"
    user_code.write_text(
        "from treadle import g\n\n\n"
        "def connect() -> int:\n"
        "    g.db = 1\n"
        "    g.name = 'x'\n"
        "    del g.name\n"
        "    return int(g.db) + 1\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user_code)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_g_attribute_can_be_deleted(app: Treadle) -> None:
    with app.app_context():
        g.db = 1
        del g.db
        assert "db" not in g
        with pytest.raises(AttributeError):
            del g.db
