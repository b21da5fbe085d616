"""Blueprints: prefixes, endpoint names, nesting, scoped and app-wide hooks, templates, CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from treadle import Blueprint, Treadle, render_template_string, request, url_for


def test_routes_get_prefix_and_dotted_endpoint(app: Treadle, client: Any) -> None:
    bp = Blueprint("admin", __name__, url_prefix="/admin")
    bp.get("/users")(lambda: f"{request.endpoint} {request.blueprint}")
    app.register_blueprint(bp)
    assert client.get("/admin/users").data == b"admin.<lambda> admin"


def test_register_options_override_prefix(app: Treadle, client: Any) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/one")
    bp.get("/x")(lambda: "x")
    app.register_blueprint(bp, url_prefix="/two")
    assert client.get("/two/x").status_code == 200
    assert client.get("/one/x").status_code == 404


def test_empty_rule_maps_to_prefix(app: Treadle, client: Any) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/section")
    bp.add_url_rule("", "index", lambda: "index")
    app.register_blueprint(bp)
    assert client.get("/section").data == b"index"


def test_relative_url_for_within_blueprint(app: Treadle, client: Any) -> None:
    bp = Blueprint("shop", __name__, url_prefix="/shop")

    @bp.get("/")
    def index() -> str:
        return url_for(".item", item_id=3)

    @bp.get("/item/<int:item_id>")
    def item(item_id: int) -> str:
        return ""

    app.register_blueprint(bp)
    assert client.get("/shop/").data == b"/shop/item/3"


def test_blueprint_url_defaults_are_passed_to_views(app: Treadle, client: Any) -> None:
    bp = Blueprint("bp", __name__, url_defaults={"page": 1})
    bp.get("/list")(lambda page: f"page {page}")
    app.register_blueprint(bp)
    assert client.get("/list").data == b"page 1"


def test_same_blueprint_twice_needs_unique_name(app: Treadle, client: Any) -> None:
    bp = Blueprint("api", __name__)
    bp.get("/ping")(lambda: request.blueprint)
    app.register_blueprint(bp, url_prefix="/v1")
    with pytest.raises(ValueError, match="already registered"):
        app.register_blueprint(bp, url_prefix="/v2")
    app.register_blueprint(bp, url_prefix="/v2", name="api_v2")
    assert client.get("/v2/ping").data == b"api_v2"


def test_nested_blueprints_join_prefixes_and_names(app: Treadle, client: Any) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")
    child.get("/leaf")(lambda: request.endpoint)
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert client.get("/p/c/leaf").data == b"parent.child.<lambda>"


def test_blueprint_cannot_register_itself() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="on itself"):
        bp.register_blueprint(bp)


def test_names_with_dots_are_rejected() -> None:
    with pytest.raises(ValueError, match="dot"):
        Blueprint("a.b", __name__)
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="dot"):
        bp.add_url_rule("/", "a.b", lambda: "")


def test_hooks_run_app_then_parent_then_child(app: Treadle, client: Any) -> None:
    order: list[str] = []
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    app.before_request(lambda: order.append("app"))
    parent.before_request(lambda: order.append("parent"))
    child.before_request(lambda: order.append("child"))
    child.get("/leaf")(lambda: "leaf")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    client.get("/leaf")
    assert order == ["app", "parent", "child"]


def test_after_request_runs_child_then_parent_then_app(app: Treadle, client: Any) -> None:
    order: list[str] = []

    def record(name: str) -> Any:
        def hook(response: Any) -> Any:
            order.append(name)
            return response

        return hook

    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    app.after_request(record("app"))
    parent.after_request(record("parent"))
    child.after_request(record("child"))
    child.get("/leaf")(lambda: "leaf")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    client.get("/leaf")
    assert order == ["child", "parent", "app"]


def test_blueprint_hooks_do_not_run_for_other_routes(app: Treadle, client: Any) -> None:
    calls: list[str] = []
    bp = Blueprint("bp", __name__)
    bp.before_request(lambda: calls.append("bp"))
    bp.get("/inside")(lambda: "in")
    app.register_blueprint(bp)
    app.get("/outside")(lambda: "out")
    client.get("/outside")
    assert calls == []
    client.get("/inside")
    assert calls == ["bp"]


def test_before_app_request_runs_for_every_route(app: Treadle, client: Any) -> None:
    calls: list[str] = []
    bp = Blueprint("bp", __name__)
    bp.before_app_request(lambda: calls.append(request.path))
    app.register_blueprint(bp)
    app.get("/outside")(lambda: "out")
    client.get("/outside")
    assert calls == ["/outside"]


def test_blueprint_error_handler_is_scoped(app: Treadle, client: Any) -> None:
    bp = Blueprint("bp", __name__)
    bp.register_error_handler(ValueError, lambda e: ("bp handled", 400))

    @bp.get("/bad")
    def bad() -> str:
        raise ValueError

    @app.get("/app-bad")
    def app_bad() -> str:
        raise ValueError

    app.register_blueprint(bp)
    assert client.get("/bad").data == b"bp handled"
    with pytest.raises(ValueError):
        client.get("/app-bad")


def test_blueprint_handler_wins_over_app_handler(app: Treadle, client: Any) -> None:
    bp = Blueprint("bp", __name__)
    bp.errorhandler(LookupError)(lambda e: "blueprint")
    app.errorhandler(LookupError)(lambda e: "app")

    @bp.get("/x")
    def x() -> str:
        raise KeyError

    app.register_blueprint(bp)
    assert client.get("/x").data == b"blueprint"


def test_app_errorhandler_from_blueprint_is_app_wide(app: Treadle, client: Any) -> None:
    bp = Blueprint("errors", __name__)
    bp.app_errorhandler(404)(lambda e: ("not here", 404))
    app.register_blueprint(bp)
    assert client.get("/missing").data == b"not here"


def test_404_inside_blueprint_prefix_uses_app_handler(app: Treadle, client: Any) -> None:
    app.errorhandler(404)(lambda e: ("app 404", 404))
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    app.register_blueprint(bp)
    assert client.get("/bp/missing").data == b"app 404"


def test_app_template_filter_from_blueprint(app: Treadle) -> None:
    bp = Blueprint("bp", __name__)

    @bp.app_template_filter("shout")
    def shout(value: str) -> str:
        return value.upper() + "!"

    app.register_blueprint(bp)
    with app.app_context():
        assert render_template_string("{{ 'hi'|shout }}") == "HI!"


def test_app_template_global_and_test_from_blueprint(app: Treadle) -> None:
    bp = Blueprint("bp", __name__)
    bp.app_template_global()(lambda: 42)
    bp.add_app_template_test(lambda n: n % 2 == 0, name="even")
    bp.add_app_template_global(lambda: "v", name="version")
    app.register_blueprint(bp)
    with app.app_context():
        assert render_template_string("{{ version() }} {{ 4 is even }}") == "v True"


def test_blueprint_context_processor_only_for_its_views(app: Treadle, client: Any) -> None:
    bp = Blueprint("bp", __name__)
    bp.context_processor(lambda: {"who": "bp"})
    bp.get("/in")(lambda: render_template_string("{{ who|default('none') }}"))
    app.get("/out")(lambda: render_template_string("{{ who|default('none') }}"))
    app.register_blueprint(bp)
    assert client.get("/in").data == b"bp"
    assert client.get("/out").data == b"none"


def test_blueprint_templates_are_found_after_app_templates(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "bp_templates").mkdir()
    (tmp_path / "templates" / "shared.html").write_text("app version")
    (tmp_path / "bp_templates" / "shared.html").write_text("bp version")
    (tmp_path / "bp_templates" / "only_bp.html").write_text("bp only")
    app = Treadle("x", root_path=str(tmp_path))
    bp = Blueprint("bp", __name__, root_path=str(tmp_path), template_folder="bp_templates")
    app.register_blueprint(bp)
    from treadle import render_template

    with app.app_context():
        assert render_template("shared.html") == "app version"
        assert render_template("only_bp.html") == "bp only"


def test_blueprint_static_folder_is_served(tmp_path: Path) -> None:
    (tmp_path / "bp_static").mkdir()
    (tmp_path / "bp_static" / "x.js").write_text("js")
    app = Treadle("x", root_path=str(tmp_path))
    bp = Blueprint("bp", __name__, root_path=str(tmp_path), static_folder="bp_static", url_prefix="/bp")
    app.register_blueprint(bp)
    rv = app.test_client().get("/bp/bp_static/x.js")
    assert rv.data == b"js"
    rv.close()
    with app.test_request_context():
        assert url_for("bp.static", filename="x.js") == "/bp/bp_static/x.js"


def test_setup_after_registration_is_an_error(app: Treadle) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="already been registered"):
        bp.get("/late")(lambda: "")


def test_record_once_runs_only_on_first_registration(app: Treadle) -> None:
    bp = Blueprint("bp", __name__)
    calls: list[bool] = []
    bp.record_once(lambda state: calls.append(state.first_registration))
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="bp2")
    assert calls == [True]


def test_blueprint_subdomain(app: Treadle) -> None:
    sub = Treadle("sub", subdomain_matching=True)
    sub.config["SERVER_NAME"] = "example.test"
    bp = Blueprint("api", __name__, subdomain="api")
    bp.get("/")(lambda: "api")
    sub.register_blueprint(bp)
    assert sub.test_client().get("/", subdomain="api").data == b"api"


def test_blueprint_cli_commands_are_grouped_under_its_name(app: Treadle) -> None:
    bp = Blueprint("tools", __name__)

    @bp.cli.command("hello")
    def hello() -> None:
        import click

        click.echo("hello from bp")

    app.register_blueprint(bp)
    result = app.test_cli_runner().invoke(args=["tools", "hello"])
    assert result.output == "hello from bp\n"


def test_blueprints_are_listed_on_the_app(app: Treadle) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    assert app.blueprints == {"bp": bp}
    assert list(app.iter_blueprints()) == [bp]
