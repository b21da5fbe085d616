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


# --- the render fast path gives what Jinja's own Template.render gives -----------------


def test_dict_item_is_read_with_dot_syntax(app: Treadle) -> None:
    with app.app_context():
        assert render_template_string("{{ user.name }}", user={"name": "Ann"}) == "Ann"


def test_dict_method_still_wins_over_a_key_of_the_same_name(app: Treadle) -> None:
    with app.app_context():
        rendered = render_template_string("{{ d.items is callable }}", d={"items": 1})
    assert rendered == "True"


def test_missing_dict_key_is_undefined(app: Treadle) -> None:
    with app.app_context():
        assert render_template_string("[{{ d.nope }}]{{ d.nope is defined }}", d={}) == "[]False"


def test_dict_subclass_keeps_jinja_lookup(app: Treadle) -> None:
    class Record(dict[str, Any]):
        name = "attribute"

    with app.app_context():
        assert render_template_string("{{ r.name }}", r=Record(name="item")) == "attribute"


def test_object_attributes_still_resolve(app: Treadle) -> None:
    class User:
        name = "Bob"

    with app.app_context():
        assert render_template_string("{{ u.name }}", u=User()) == "Bob"


def test_render_matches_jinja_render_for_globals_and_context(app: Treadle) -> None:
    app.jinja_env.globals["site"] = "env"
    source = "{{ site }} {{ local }} {{ range(2)|list }} {{ config.TESTING }}"
    with app.test_request_context():
        template = app.jinja_env.from_string(source, globals={"local": "template"})
        expected = template.render(config=app.config)
        assert render_template(template) == expected == "env template [0, 1] True"
        assert render_template(template, site="context") == "context template [0, 1] True"


def test_globals_added_after_first_render_are_seen(app: Treadle) -> None:
    with app.app_context():
        assert render_template_string("{{ late }}") == ""
        app.jinja_env.globals["late"] = "now"
        assert render_template_string("{{ late }}") == "now"


def test_render_error_traceback_points_into_the_template(app: Treadle) -> None:
    with app.app_context(), pytest.raises(ZeroDivisionError) as caught:
        render_template_string("line one\n{{ 1 // 0 }}")
    lines = [entry.lineno + 1 for entry in caught.traceback if entry.frame.code.raw.co_filename == "<template>"]
    assert lines == [2]  # Jinja's rewritten traceback: the template's own line


def test_custom_template_class_render_is_used(app: Treadle) -> None:
    from jinja2 import Template

    class Shouting(Template):
        def render(self, *args: Any, **kwargs: Any) -> str:
            return super().render(*args, **kwargs).upper()

    app.jinja_env.template_class = Shouting
    with app.app_context():
        assert render_template_string("hi {{ name }}", name="ann") == "HI ANN"


def test_template_inheritance_and_blocks_render(tapp: Treadle, tmp_path: Path) -> None:
    (tmp_path / "templates" / "base.html").write_text("<{% block body %}base{% endblock %}>")
    (tmp_path / "templates" / "child.html").write_text(
        '{% extends "base.html" %}{% block body %}{{ super() }}+{{ item.name }}{% endblock %}'
    )
    with tapp.app_context():
        assert render_template("child.html", item={"name": "x"}) == "<base+x>"
