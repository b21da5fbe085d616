"""Treadle dispatch: return values, hooks, error handling and app attributes, through test_client."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from treadle import Response, Treadle, abort, g, request
from treadle.exceptions import Forbidden, InternalServerError, NotFound


def test_string_view_gives_html_200(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: "hello")
    rv = client.get("/")
    assert rv.status_code == 200
    assert rv.data == b"hello"
    assert rv.mimetype == "text/html"


def test_bytes_view_is_sent_as_is(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: b"\x00raw")
    assert client.get("/").data == b"\x00raw"


def test_dict_view_becomes_json(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: {"b": 1, "a": [1, 2]})
    rv = client.get("/")
    assert rv.mimetype == "application/json"
    assert rv.json == {"a": [1, 2], "b": 1}


def test_list_view_becomes_json(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: [1, "two"])
    assert client.get("/").json == [1, "two"]


def test_generator_view_is_streamed(app: Treadle, client: Any) -> None:
    def gen() -> Any:
        yield "a"
        yield "b"

    app.get("/")(lambda: gen())
    assert client.get("/").data == b"ab"


def test_tuple_body_status(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: ("created", 201))
    rv = client.get("/")
    assert (rv.status_code, rv.data) == (201, b"created")


def test_tuple_body_headers(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: ("x", {"X-Thing": "1"}))
    rv = client.get("/")
    assert rv.status_code == 200
    assert rv.headers["X-Thing"] == "1"


def test_tuple_body_status_headers(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: ("x", 202, [("X-A", "b")]))
    rv = client.get("/")
    assert rv.status_code == 202
    assert rv.headers["X-A"] == "b"


def test_tuple_with_string_status(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: ("x", "299 CUSTOM"))
    assert client.get("/").status == "299 CUSTOM"


def test_tuple_status_applies_to_dict_body(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: ({"ok": False}, 400))
    rv = client.get("/")
    assert rv.status_code == 400
    assert rv.json == {"ok": False}


def test_response_object_is_returned_unchanged(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: Response("r", status=203, mimetype="text/plain"))
    rv = client.get("/")
    assert (rv.status_code, rv.mimetype) == (203, "text/plain")


def test_wsgi_callable_return_is_run(app: Treadle, client: Any) -> None:
    def wsgi(environ: Any, start_response: Any) -> Any:
        start_response("204 No Content", [])
        return []

    app.get("/")(lambda: wsgi)
    assert client.get("/").status_code == 204


def test_view_returning_none_raises_teaching_type_error(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> None:
        return None

    with pytest.raises(TypeError, match="did not return a valid response"):
        client.get("/")


def test_bad_tuple_size_raises_type_error(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: ("a", 200, {}, "extra"))
    with pytest.raises(TypeError, match="valid response tuple"):
        client.get("/")


def test_unsupported_return_type_names_it(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: 3.5)
    with pytest.raises(TypeError, match="but it was a float"):
        client.get("/")


def test_before_request_return_short_circuits_view(app: Treadle, client: Any) -> None:
    calls: list[str] = []
    app.before_request(lambda: "stopped")

    @app.get("/")
    def index() -> str:
        calls.append("view")
        return "view"

    assert client.get("/").data == b"stopped"
    assert calls == []


def test_after_request_runs_in_reverse_registration_order(app: Treadle, client: Any) -> None:
    order: list[str] = []

    @app.after_request
    def first(response: Response) -> Response:
        order.append("first")
        return response

    @app.after_request
    def second(response: Response) -> Response:
        order.append("second")
        response.headers["X-Second"] = "1"
        return response

    app.get("/")(lambda: "x")
    assert client.get("/").headers["X-Second"] == "1"
    assert order == ["second", "first"]


def test_teardown_request_sees_unhandled_exception(app: Treadle, client: Any) -> None:
    seen: list[BaseException | None] = []
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.teardown_request(seen.append)

    @app.get("/")
    def index() -> str:
        raise ValueError("boom")

    assert client.get("/").status_code == 500
    assert len(seen) == 1 and isinstance(seen[0], ValueError)


def test_teardown_request_gets_none_on_success(app: Treadle, client: Any) -> None:
    seen: list[BaseException | None] = []
    app.teardown_request(seen.append)
    app.get("/")(lambda: "ok")
    client.get("/")
    assert seen == [None]


def test_teardown_appcontext_runs_after_each_request(app: Treadle, client: Any) -> None:
    seen: list[BaseException | None] = []
    app.teardown_appcontext(seen.append)
    app.get("/")(lambda: "ok")
    client.get("/")
    client.get("/")
    assert seen == [None, None]


def test_errorhandler_by_code_handles_abort(app: Treadle, client: Any) -> None:
    app.register_error_handler(404, lambda e: ("custom missing", 404))
    rv = client.get("/nowhere")
    assert (rv.status_code, rv.data) == (404, b"custom missing")


def test_errorhandler_by_exception_class_uses_mro(app: Treadle, client: Any) -> None:
    class AppError(Exception):
        pass

    class SpecificError(AppError):
        pass

    app.register_error_handler(AppError, lambda e: (f"handled {type(e).__name__}", 418))

    @app.get("/")
    def index() -> str:
        raise SpecificError()

    rv = client.get("/")
    assert (rv.status_code, rv.data) == (418, b"handled SpecificError")


def test_code_handler_wins_over_class_handler(app: Treadle, client: Any) -> None:
    from treadle.exceptions import HTTPException

    app.register_error_handler(HTTPException, lambda e: ("generic", 500))
    app.register_error_handler(403, lambda e: ("forbidden handler", 403))
    app.get("/")(lambda: abort(403))
    assert client.get("/").data == b"forbidden handler"


def test_http_exception_without_handler_is_its_own_response(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: abort(403))
    rv = client.get("/")
    assert rv.status_code == 403
    assert b"Forbidden" in rv.data


def test_errorhandler_rejects_unknown_code() -> None:
    app = Treadle("x")
    with pytest.raises(ValueError, match="not a recognized HTTP error code"):
        app.register_error_handler(999, lambda e: "")


def test_errorhandler_rejects_instances() -> None:
    app = Treadle("x")
    with pytest.raises(TypeError, match="is an instance, not a class"):
        app.register_error_handler(ValueError(), lambda e: "")  # type: ignore[arg-type]


def test_unhandled_error_propagates_in_testing(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> str:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        client.get("/")


def test_unhandled_error_is_500_and_logged_when_not_propagating(app: Treadle, client: Any, caplog: pytest.LogCaptureFixture) -> None:
    app.testing = False

    @app.get("/fail")
    def fail() -> str:
        raise ZeroDivisionError

    with caplog.at_level(logging.ERROR, logger=app.name):
        rv = client.get("/fail")
    assert rv.status_code == 500
    assert "Exception on /fail [GET]" in caplog.text


def test_internal_server_error_handler_gets_original_exception(app: Treadle, client: Any) -> None:
    app.testing = False
    app.logger.disabled = True

    @app.errorhandler(500)
    def on_500(e: InternalServerError) -> Any:
        return f"wrapped {type(e.original_exception).__name__}", 500

    @app.get("/")
    def index() -> str:
        raise KeyError("k")

    assert client.get("/").data == b"wrapped KeyError"


def test_error_handler_for_exception_catches_unhandled_error(app: Treadle, client: Any) -> None:
    app.register_error_handler(Exception, lambda e: ("caught", 500))

    @app.get("/")
    def index() -> str:
        raise RuntimeError

    assert client.get("/").data == b"caught"


def test_trap_http_exceptions_reraises(app: Treadle, client: Any) -> None:
    app.config["TRAP_HTTP_EXCEPTIONS"] = True
    with pytest.raises(NotFound):
        client.get("/missing")


def test_bad_request_key_error_names_key_in_debug(app: Treadle, client: Any) -> None:
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False
    app.debug = True
    app.get("/")(lambda: request.args["missing"])
    rv = client.get("/")
    assert rv.status_code == 400
    assert b"missing" in rv.data


def test_bad_request_key_error_hides_key_in_production(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: request.form["secret_field"])
    rv = client.get("/")
    assert rv.status_code == 400
    assert b"secret_field" not in rv.data


def test_setup_after_first_request_is_an_error(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: "x")
    client.get("/")
    with pytest.raises(AssertionError, match="can no longer be called on the application"):
        app.before_request(lambda: None)


def test_async_view_runs(app: Treadle, client: Any) -> None:
    @app.get("/")
    async def index() -> str:
        return "async ok"

    assert client.get("/").data == b"async ok"


def test_async_before_request_runs(app: Treadle, client: Any) -> None:
    @app.before_request
    async def load() -> None:
        g.value = "from async hook"

    app.get("/")(lambda: g.value)
    assert client.get("/").data == b"from async hook"


def test_debug_property_reflects_config(app: Treadle) -> None:
    app.debug = True
    assert app.config["DEBUG"] is True
    assert app.debug


def test_debug_toggles_template_auto_reload(app: Treadle) -> None:
    env = app.jinja_env
    app.debug = True
    assert env.auto_reload is True
    app.debug = False
    assert env.auto_reload is False


def test_debug_flag_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREADLE_DEBUG", "1")
    assert Treadle("x").debug is True
    monkeypatch.setenv("TREADLE_DEBUG", "false")
    assert Treadle("x").debug is False


def test_secret_key_and_testing_are_config_attributes(app: Treadle) -> None:
    app.secret_key = "k2"
    app.testing = False
    assert app.config["SECRET_KEY"] == "k2"
    assert app.config["TESTING"] is False


def test_permanent_session_lifetime_accepts_seconds(app: Treadle) -> None:
    from datetime import timedelta

    app.config["PERMANENT_SESSION_LIFETIME"] = 60
    assert app.permanent_session_lifetime == timedelta(seconds=60)


def test_name_of_main_module_is_script_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    main = types.ModuleType("__main__")
    main.__file__ = "/srv/project/serve.py"
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert Treadle("__main__").name == "serve"


def test_logger_is_named_after_app(app: Treadle) -> None:
    assert app.logger.name == "app_under_test"


def test_logger_is_debug_level_in_debug_mode() -> None:
    app = Treadle("debug_logger_app")
    app.debug = True
    assert app.logger.level == logging.DEBUG


def test_instance_path_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        Treadle("x", instance_path="relative/path")


def test_instance_path_defaults_next_to_package(tmp_path: Any) -> None:
    app = Treadle("x", root_path=str(tmp_path))
    assert app.instance_path.endswith("instance")


def test_open_instance_resource_reads_instance_folder(tmp_path: Any) -> None:
    (tmp_path / "data.txt").write_text("instance data")
    app = Treadle("x", instance_path=str(tmp_path))
    with app.open_instance_resource("data.txt", "r") as fh:
        assert fh.read() == "instance data"


def test_open_resource_refuses_write_modes(tmp_path: Any) -> None:
    app = Treadle("x", root_path=str(tmp_path))
    with pytest.raises(ValueError, match="only be opened for reading"):
        app.open_resource("f.txt", "w")


def test_instance_relative_config_reads_from_instance(tmp_path: Any) -> None:
    (tmp_path / "settings.py").write_text("FROM_INSTANCE = 1\n")
    app = Treadle("x", instance_path=str(tmp_path), instance_relative_config=True)
    app.config.from_pyfile("settings.py")
    assert app.config["FROM_INSTANCE"] == 1


def test_wsgi_app_can_be_wrapped_by_middleware(app: Treadle, client: Any) -> None:
    inner = app.wsgi_app

    def middleware(environ: Any, start_response: Any) -> Any:
        environ["HTTP_X_INJECTED"] = "yes"
        return inner(environ, start_response)

    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.get("/")(lambda: request.headers["X-Injected"])
    assert client.get("/").data == b"yes"


def test_make_shell_context_includes_processors(app: Treadle) -> None:
    app.shell_context_processor(lambda: {"db": "database"})
    namespace = app.make_shell_context()
    assert namespace["app"] is app
    assert namespace["db"] == "database"


def test_extensions_dict_is_per_app() -> None:
    assert Treadle("a").extensions == {}
    assert Treadle("a").extensions is not Treadle("b").extensions


def test_abort_with_response_sends_it(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: abort(Response("teapot", status=418)))
    rv = client.get("/")
    assert (rv.status_code, rv.data) == (418, b"teapot")


def test_forbidden_raised_from_before_request_is_handled(app: Treadle, client: Any) -> None:
    def deny() -> None:
        raise Forbidden()

    app.before_request(deny)
    app.get("/")(lambda: "x")
    assert client.get("/").status_code == 403
