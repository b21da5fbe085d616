"""Routing through the app: rules, methods, automatic OPTIONS/HEAD, redirects, url_for, static."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from treadle import Treadle, request, url_for
from treadle.routing import BaseConverter, BuildError


def test_endpoint_defaults_to_function_name(app: Treadle) -> None:
    @app.route("/x")
    def my_view() -> str:
        return ""

    assert app.view_functions["my_view"] is my_view


def test_explicit_endpoint_is_used(app: Treadle, client: Any) -> None:
    app.add_url_rule("/x", "named", lambda: "named view")
    assert "named" in app.view_functions
    assert client.get("/x").data == b"named view"


def test_duplicate_endpoint_with_other_function_is_an_error(app: Treadle) -> None:
    app.add_url_rule("/a", "same", lambda: "a")
    with pytest.raises(AssertionError, match="overwriting an existing endpoint function: same"):
        app.add_url_rule("/b", "same", lambda: "b")


def test_same_function_on_two_rules_is_allowed(app: Treadle, client: Any) -> None:
    def view() -> str:
        return request.path

    app.add_url_rule("/a", "v", view)
    app.add_url_rule("/b", "v", view)
    assert client.get("/b").data == b"/b"


def test_endpoint_decorator_binds_view(app: Treadle, client: Any) -> None:
    app.url_map.add(app.url_rule_class("/e", endpoint="ep"))

    @app.endpoint("ep")
    def view() -> str:
        return "from endpoint"

    assert client.get("/e").data == b"from endpoint"


def test_methods_as_string_is_rejected(app: Treadle) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        app.add_url_rule("/", "x", lambda: "", methods="POST")


def test_get_decorator_refuses_methods_argument(app: Treadle) -> None:
    with pytest.raises(TypeError, match="'route' decorator"):
        app.get("/", methods=["POST"])


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_method_shortcuts_register_that_method(app: Treadle, client: Any, method: str) -> None:
    getattr(app, method)("/m")(lambda: "hit")
    assert getattr(client, method)("/m").status_code == 200


def test_wrong_method_is_405_with_allow(app: Treadle, client: Any) -> None:
    app.post("/only-post")(lambda: "x")
    rv = client.get("/only-post")
    assert rv.status_code == 405
    assert set(rv.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}


def test_unknown_url_is_404(client: Any) -> None:
    assert client.get("/no/such/page").status_code == 404


def test_automatic_options_lists_methods(app: Treadle, client: Any) -> None:
    app.route("/r", methods=["GET", "POST"])(lambda: "x")
    rv = client.options("/r")
    assert rv.status_code == 200
    assert set(rv.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert rv.data == b""


def test_view_can_handle_options_itself(app: Treadle, client: Any) -> None:
    app.route("/r", methods=["GET", "OPTIONS"])(lambda: f"custom {request.method}")
    assert client.options("/r").data == b"custom OPTIONS"


def test_provide_automatic_options_false_gives_405(app: Treadle, client: Any) -> None:
    app.add_url_rule("/r", "r", lambda: "x", provide_automatic_options=False)
    assert client.options("/r").status_code == 405


def test_automatic_options_config_can_disable_it(app: Treadle, client: Any) -> None:
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.get("/r")(lambda: "x")
    assert client.options("/r").status_code == 405


def test_head_is_served_by_get_view_without_body(app: Treadle, client: Any) -> None:
    app.get("/h")(lambda: "body text")
    rv = client.head("/h")
    assert rv.status_code == 200
    assert rv.data == b""
    assert rv.headers["Content-Length"] == str(len("body text"))


def test_missing_trailing_slash_redirects_with_308(app: Treadle, client: Any) -> None:
    app.get("/folder/")(lambda: "folder")
    rv = client.get("/folder")
    assert rv.status_code == 308
    assert rv.headers["Location"].endswith("/folder/")


def test_strict_slashes_redirect_is_followed(app: Treadle, client: Any) -> None:
    app.get("/folder/")(lambda: "folder")
    assert client.get("/folder", follow_redirects=True).data == b"folder"


def test_int_converter_passes_int(app: Treadle, client: Any) -> None:
    app.get("/item/<int:item_id>")(lambda item_id: {"id": item_id, "type": type(item_id).__name__})
    assert client.get("/item/42").json == {"id": 42, "type": "int"}
    assert client.get("/item/abc").status_code == 404


def test_custom_converter_registered_on_url_map(app: Treadle, client: Any) -> None:
    class ListConverter(BaseConverter):
        def to_python(self, value: str) -> list[str]:
            return value.split(",")

        def to_url(self, value: Any) -> str:
            return ",".join(value)

    app.url_map.converters["list"] = ListConverter
    app.get("/tags/<list:tags>")(lambda tags: {"tags": tags})
    assert client.get("/tags/a,b").json == {"tags": ["a", "b"]}
    with app.test_request_context():
        assert url_for("<lambda>", tags=["x", "y"]) == "/tags/x,y"


def test_url_for_builds_path_with_query(app: Treadle) -> None:
    @app.get("/user/<name>")
    def profile(name: str) -> str:
        return name

    with app.test_request_context():
        assert url_for("profile", name="ann", tab="info") == "/user/ann?tab=info"


def test_url_for_external_and_anchor(app: Treadle) -> None:
    app.get("/")(lambda: "")
    with app.test_request_context():
        assert url_for("<lambda>", _external=True) == "http://localhost/"
        assert url_for("<lambda>", _anchor="top part") == "/#top%20part"


def test_url_for_scheme_requires_external(app: Treadle) -> None:
    app.get("/")(lambda: "")
    with app.test_request_context():
        assert url_for("<lambda>", _scheme="https", _external=True) == "https://localhost/"
        with pytest.raises(ValueError, match="'_external' must be True"):
            url_for("<lambda>", _scheme="https", _external=False)


def test_url_for_method_picks_matching_rule(app: Treadle) -> None:
    app.add_url_rule("/read", "thing", lambda: "", methods=["GET"])
    app.add_url_rule("/write", "thing", None, methods=["POST"])
    with app.test_request_context():
        assert url_for("thing", _method="POST") == "/write"


def test_url_for_unknown_endpoint_raises_build_error(app: Treadle) -> None:
    with app.test_request_context(), pytest.raises(BuildError):
        url_for("nope")


def test_url_build_error_handler_can_supply_url(app: Treadle) -> None:
    app.url_build_error_handlers.append(lambda error, endpoint, values: f"/fallback/{endpoint}")
    with app.test_request_context():
        assert url_for("missing") == "/fallback/missing"


def test_url_for_outside_request_needs_server_name(app: Treadle) -> None:
    app.get("/")(lambda: "")
    with app.app_context(), pytest.raises(RuntimeError, match="SERVER_NAME"):
        url_for("<lambda>")


def test_url_for_outside_request_with_server_name_is_external(app: Treadle) -> None:
    app.config.update(SERVER_NAME="example.test", PREFERRED_URL_SCHEME="https")
    app.get("/p")(lambda: "")
    with app.app_context():
        assert url_for("<lambda>") == "https://example.test/p"


def test_url_for_respects_script_root(app: Treadle) -> None:
    app.get("/p")(lambda: "")
    with app.test_request_context(base_url="http://localhost/mounted/"):
        assert url_for("<lambda>") == "/mounted/p"


def test_url_defaults_fill_values(app: Treadle) -> None:
    @app.get("/<lang>/page")
    def page(lang: str) -> str:
        return lang

    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, Any]) -> None:
        values.setdefault("lang", "en")

    with app.test_request_context():
        assert url_for("page") == "/en/page"


def test_url_value_preprocessor_can_pop_values(app: Treadle, client: Any) -> None:
    from treadle import g

    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.lang = values.pop("lang") if values else None

    app.get("/<lang>/hi")(lambda: f"hi in {g.lang}")
    assert client.get("/fr/hi").data == b"hi in fr"


def test_static_route_serves_files(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body{}")
    app = Treadle("static_app", root_path=str(tmp_path))
    rv = app.test_client().get("/static/site.css")
    assert rv.status_code == 200
    assert rv.data == b"body{}"
    assert rv.mimetype == "text/css"
    rv.close()


def test_static_route_404_for_missing_and_traversal(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "secret.txt").write_text("nope")
    client = Treadle("static_app", root_path=str(tmp_path)).test_client()
    assert client.get("/static/missing.css").status_code == 404
    assert client.get("/static/../secret.txt").status_code == 404


def test_static_url_path_can_be_changed(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.txt").write_text("A")
    app = Treadle("static_app", root_path=str(tmp_path), static_folder="assets", static_url_path="/files")
    rv = app.test_client().get("/files/a.txt")
    assert rv.data == b"A"
    rv.close()
    with app.test_request_context():
        assert url_for("static", filename="a.txt") == "/files/a.txt"


def test_no_static_route_without_static_folder() -> None:
    app = Treadle("x", static_folder=None)
    assert "static" not in app.view_functions


def test_static_host_requires_host_matching() -> None:
    with pytest.raises(ValueError, match="static_host"):
        Treadle("x", static_host="cdn.example")


def test_host_matching_routes_by_host(app: Treadle) -> None:
    hosted = Treadle("hosted", host_matching=True, static_host="static.test")
    hosted.route("/", host="a.test")(lambda: "site a")
    client = hosted.test_client()
    assert client.get("/", base_url="http://a.test").data == b"site a"
    assert client.get("/", base_url="http://b.test").status_code == 404


def test_subdomain_matching(app: Treadle) -> None:
    sub = Treadle("sub", subdomain_matching=True)
    sub.config["SERVER_NAME"] = "example.test"
    sub.route("/", subdomain="api")(lambda: "api root")
    client = sub.test_client()
    assert client.get("/", subdomain="api").data == b"api root"


def test_trusted_hosts_rejects_other_hosts(app: Treadle, client: Any) -> None:
    app.config["TRUSTED_HOSTS"] = ["good.test"]
    app.get("/")(lambda: "ok")
    assert client.get("/", base_url="http://good.test").status_code == 200
    assert client.get("/", base_url="http://evil.test").status_code == 400


def test_view_args_are_on_request(app: Treadle, client: Any) -> None:
    app.get("/a/<x>")(lambda x: f"{request.view_args} {request.endpoint}")
    assert client.get("/a/1").data == b"{'x': '1'} <lambda>"
