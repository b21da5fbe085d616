"""Templates: loading, autoescape, context globals and processors, filters/tests/globals, streaming."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from jinja2 import TemplateNotFound

from treadle import (
    Treadle,
    flash,
    g,
    render_template,
    render_template_string,
    session,
    stream_template,
    stream_template_string,
)


@pytest.fixture
def tapp(tmp_path: Path) -> Treadle:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "hello.html").write_text("Hello {{ name }}!")
    (tmp_path / "templates" / "raw.txt").write_text("{{ value }}")
    (tmp_path / "templates" / "macros.html").write_text("{% macro twice(x) %}{{ x }}{{ x }}{% endmacro %}")
    app = Treadle("tapp", root_path=str(tmp_path))
    app.config.update(TESTING=True, SECRET_KEY="k")
    return app


def test_render_template_from_templates_folder(tapp: Treadle) -> None:
    with tapp.app_context():
        assert render_template("hello.html", name="World") == "Hello World!"


def test_render_first_existing_of_a_list(tapp: Treadle) -> None:
    with tapp.app_context():
        assert render_template(["missing.html", "hello.html"], name="x") == "Hello x!"


def test_missing_template_raises_template_not_found(tapp: Treadle) -> None:
    with tapp.app_context(), pytest.raises(TemplateNotFound):
        render_template("nope.html")


def test_html_templates_are_autoescaped(tapp: Treadle) -> None:
    with tapp.app_context():
        assert render_template("hello.html", name="<b>") == "Hello &lt;b&gt;!"


def test_txt_templates_are_not_autoescaped(tapp: Treadle) -> None:
    with tapp.app_context():
        assert render_template("raw.txt", value="<b>") == "<b>"


def test_template_strings_are_autoescaped(app: Treadle) -> None:
    with app.app_context():
        assert render_template_string("{{ v }}", v="<i>") == "&lt;i&gt;"


@pytest.mark.parametrize("name", ["a.html", "a.htm", "a.xml", "a.xhtml", "a.svg"])
def test_autoescape_extensions(app: Treadle, name: str) -> None:
    assert app.select_jinja_autoescape(name)


def test_render_in_view_sees_request_session_g_config(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> str:
        g.who = "gee"
        session["s"] = "sess"
        return render_template_string(
            "{{ request.path }} {{ g.who }} {{ session.s }} {{ config.TESTING }}"
        )

    assert client.get("/").data == b"/ gee sess True"


def test_template_url_for_global(app: Treadle, client: Any) -> None:
    @app.get("/target")
    def target() -> str:
        return ""

    app.get("/")(lambda: render_template_string("{{ url_for('target') }}"))
    assert client.get("/").data == b"/target"


def test_template_get_flashed_messages(app: Treadle, client: Any) -> None:
    @app.get("/flash")
    def do_flash() -> str:
        flash("saved")
        return ""

    app.get("/show")(lambda: render_template_string("{{ get_flashed_messages()|join(',') }}"))
    client.get("/flash")
    assert client.get("/show").data == b"saved"


def test_context_processor_adds_values(app: Treadle, client: Any) -> None:
    app.context_processor(lambda: {"site": "Treadle Site"})
    app.get("/")(lambda: render_template_string("{{ site }}"))
    assert client.get("/").data == b"Treadle Site"


def test_explicit_context_wins_over_processor(app: Treadle) -> None:
    app.context_processor(lambda: {"site": "from processor"})
    with app.app_context():
        assert render_template_string("{{ site }}", site="explicit") == "explicit"


def test_rendering_does_not_open_the_session(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: render_template_string("no session"))
    rv = client.get("/")
    assert "Vary" not in rv.headers


@pytest.mark.parametrize("with_parens", [True, False])
def test_template_filter_decorator(app: Treadle, with_parens: bool) -> None:
    def reverse(value: str) -> str:
        return value[::-1]

    if with_parens:
        app.template_filter()(reverse)
    else:
        app.template_filter(reverse)
    with app.app_context():
        assert render_template_string("{{ 'abc'|reverse }}") == "cba"


def test_named_template_filter(app: Treadle) -> None:
    app.add_template_filter(lambda v: v * 2, name="double")
    with app.app_context():
        assert render_template_string("{{ 4|double }}") == "8"


def test_template_test_and_global(app: Treadle) -> None:
    @app.template_test("odd_number")
    def is_odd(n: int) -> bool:
        return n % 2 == 1

    @app.template_global()
    def answer() -> int:
        return 42

    with app.app_context():
        assert render_template_string("{{ 3 is odd_number }} {{ answer() }}") == "True 42"


def test_stream_template_keeps_request_context(tapp: Treadle) -> None:
    tapp.get("/")(lambda: stream_template_string("{{ request.args.name }}"))
    assert tapp.test_client().get("/?name=streamed").data == b"streamed"


def test_stream_template_by_name(tapp: Treadle) -> None:
    with tapp.app_context():
        assert "".join(stream_template("hello.html", name="s")) == "Hello s!"


def test_get_template_attribute_calls_macro(tapp: Treadle) -> None:
    from treadle import get_template_attribute

    with tapp.app_context():
        assert get_template_attribute("macros.html", "twice")("ab") == "abab"


def test_templates_auto_reload_follows_debug(tapp: Treadle) -> None:
    tapp.debug = True
    assert tapp.jinja_env.auto_reload is True


def test_templates_auto_reload_config_wins(tapp: Treadle) -> None:
    tapp.config["TEMPLATES_AUTO_RELOAD"] = False
    tapp.debug = True
    assert tapp.jinja_env.auto_reload is False


def test_explain_template_loading_logs_attempts(tapp: Treadle, caplog: pytest.LogCaptureFixture) -> None:
    tapp.config["EXPLAIN_TEMPLATE_LOADING"] = True
    with caplog.at_level(logging.INFO, logger="tapp"), tapp.app_context():
        render_template("hello.html", name="x")
    assert "Locating template 'hello.html'" in caplog.text
    assert "found" in caplog.text


def test_list_templates_covers_app_folder(tapp: Treadle) -> None:
    assert "hello.html" in tapp.jinja_env.list_templates()


def test_tojson_filter_uses_app_json(app: Treadle) -> None:
    with app.app_context():
        assert render_template_string("{{ {'b': 1, 'a': '<'}|tojson }}") == '{"a": "\\u003c", "b": 1}'


def test_render_outside_request_has_no_request(app: Treadle) -> None:
    with app.app_context():
        assert render_template_string("{{ g is defined }}") == "True"
    with app.test_request_context("/x"):
        assert render_template_string("{{ request.path }}") == "/x"
