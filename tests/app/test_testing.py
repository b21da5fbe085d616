"""The test client: request building, cookies, redirects, preserved contexts, the CLI runner."""

from __future__ import annotations

import io
from typing import Any

import pytest

from treadle import Treadle, request, session
from treadle.testing import ClientRedirectError, EnvironBuilder


def test_query_string_from_dict_and_from_path(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: {"args": request.args.to_dict(flat=False)})
    assert client.get("/", query_string={"a": ["1", "2"], "b": "x"}).json == {"args": {"a": ["1", "2"], "b": ["x"]}}
    assert client.get("/?c=3").json == {"args": {"c": ["3"]}}


def test_form_data_is_urlencoded(app: Treadle, client: Any) -> None:
    app.post("/")(lambda: {"form": request.form.to_dict(), "type": request.mimetype})
    assert client.post("/", data={"name": "ann", "n": 2}).json == {
        "form": {"name": "ann", "n": "2"},
        "type": "application/x-www-form-urlencoded",
    }


def test_file_tuple_makes_multipart_upload(app: Treadle, client: Any) -> None:
    @app.post("/upload")
    def upload() -> Any:
        f = request.files["doc"]
        return {"name": f.filename, "type": f.mimetype, "body": f.read().decode(), "field": request.form["title"]}

    rv = client.post("/upload", data={"title": "T", "doc": (io.BytesIO(b"file body"), "notes.txt")})
    assert rv.json == {"name": "notes.txt", "type": "text/plain", "body": "file body", "field": "T"}


def test_file_tuple_with_content_type(app: Treadle, client: Any) -> None:
    app.post("/")(lambda: request.files["f"].mimetype)
    data = {"f": (io.BytesIO(b"{}"), "x.bin", "application/custom")}
    assert client.post("/", data=data).data == b"application/custom"


def test_several_files_under_one_name(app: Treadle, client: Any) -> None:
    app.post("/")(lambda: {"names": [f.filename for f in request.files.getlist("f")]})
    data = {"f": [(io.BytesIO(b"1"), "a.txt"), (io.BytesIO(b"2"), "b.txt")]}
    assert client.post("/", data=data).json == {"names": ["a.txt", "b.txt"]}


def test_raw_bytes_and_str_data(app: Treadle, client: Any) -> None:
    app.post("/")(lambda: request.get_data())
    assert client.post("/", data=b"\x00\x01").data == b"\x00\x01"
    assert client.post("/", data="text", content_type="text/plain").data == b"text"


def test_json_argument_sets_content_type(app: Treadle, client: Any) -> None:
    app.post("/")(lambda: {"type": request.mimetype, "json": request.json})
    assert client.post("/", json=[1, 2]).json == {"type": "application/json", "json": [1, 2]}


def test_json_and_data_together_is_an_error(client: Any) -> None:
    with pytest.raises(TypeError, match="either 'json' or 'data'"):
        client.post("/", json={}, data="x")


def test_headers_and_environ_base(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: f"{request.headers['X-Token']} {request.remote_addr}")
    rv = client.get("/", headers={"X-Token": "t"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert rv.data == b"t 10.0.0.9"


def test_default_remote_addr_is_loopback(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: request.remote_addr or "")
    assert client.get("/").data == b"127.0.0.1"


def test_basic_auth_argument(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: f"{request.authorization.username}:{request.authorization.password}")  # type: ignore[union-attr]
    assert client.get("/", auth=("user", "pw")).data == b"user:pw"


def test_response_exposes_text_status_request(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: ("caf\u00e9", 201))
    rv = client.get("/?q=1")
    assert rv.text == "caf\u00e9"
    assert rv.status_code == 201
    assert rv.status == "201 CREATED"
    assert rv.request.args["q"] == "1"


def test_cookies_persist_between_requests(app: Treadle, client: Any) -> None:
    @app.get("/set")
    def set_cookie() -> Any:
        response = app.make_response("set")
        response.set_cookie("flavour", "oatmeal")
        return response

    app.get("/get")(lambda: request.cookies.get("flavour", "none"))
    client.get("/set")
    assert client.get_cookie("flavour").value == "oatmeal"
    assert client.get("/get").data == b"oatmeal"


def test_set_and_delete_cookie_on_client(app: Treadle, client: Any) -> None:
    app.get("/get")(lambda: request.cookies.get("c", "none"))
    client.set_cookie("c", "manual")
    assert client.get("/get").data == b"manual"
    client.delete_cookie("c")
    assert client.get("/get").data == b"none"


def test_cookie_path_scoping(app: Treadle, client: Any) -> None:
    app.add_url_rule("/a/read", "a", lambda: request.cookies.get("c", "none"))
    app.add_url_rule("/b/read", "b", lambda: request.cookies.get("c", "none"))
    client.set_cookie("c", "scoped", path="/a")
    assert client.get("/a/read").data == b"scoped"
    assert client.get("/b/read").data == b"none"


def test_cookie_deleted_by_response(app: Treadle, client: Any) -> None:
    @app.get("/del")
    def delete() -> Any:
        response = app.make_response("")
        response.delete_cookie("c")
        return response

    client.set_cookie("c", "x")
    client.get("/del")
    assert client.get_cookie("c") is None


def test_client_without_cookies(app: Treadle) -> None:
    client = app.test_client(use_cookies=False)
    with pytest.raises(TypeError, match="Cookies are disabled"):
        client.get_cookie("x")
    with pytest.raises(TypeError, match="Cookies are disabled"), client.session_transaction():
        pass


def test_follow_redirects_records_history(app: Treadle, client: Any) -> None:
    from treadle import redirect

    app.add_url_rule("/one", "one", lambda: redirect("/two"))
    app.add_url_rule("/two", "two", lambda: redirect("/three", 301))
    app.add_url_rule("/three", "three", lambda: "end")
    rv = client.get("/one", follow_redirects=True)
    assert rv.data == b"end"
    assert [r.status_code for r in rv.history] == [302, 301]
    assert rv.request.path == "/three"


def test_307_redirect_keeps_method_and_body(app: Treadle, client: Any) -> None:
    from treadle import redirect

    app.add_url_rule("/old", "old", lambda: redirect("/new", 307), methods=["POST"])
    app.add_url_rule("/new", "new", lambda: request.get_data(), methods=["POST"])
    assert client.post("/old", data=b"payload", follow_redirects=True).data == b"payload"


def test_302_after_post_becomes_get(app: Treadle, client: Any) -> None:
    from treadle import redirect

    app.add_url_rule("/form", "form", lambda: redirect("/done"), methods=["POST"])
    app.add_url_rule("/done", "done", lambda: request.method)
    assert client.post("/form", data={"a": "1"}, follow_redirects=True).data == b"GET"


def test_redirect_loop_is_detected(app: Treadle, client: Any) -> None:
    from treadle import redirect

    app.get("/loop")(lambda: redirect("/loop"))
    with pytest.raises(ClientRedirectError, match="Loop detected"):
        client.get("/loop", follow_redirects=True)


def test_external_redirect_is_not_followed(app: Treadle, client: Any) -> None:
    from treadle import redirect

    app.get("/out")(lambda: redirect("http://elsewhere.test/"))
    with pytest.raises(RuntimeError, match="external redirects"):
        client.get("/out", follow_redirects=True)


def test_with_client_keeps_last_request_context(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> str:
        session["seen"] = True
        return "x"

    with client:
        client.get("/?marker=kept")
        assert request.args["marker"] == "kept"
        assert session["seen"] is True


def test_with_client_pops_previous_context_on_next_request(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: request.args.get("n", ""))
    with client:
        client.get("/?n=1")
        client.get("/?n=2")
        assert request.args["n"] == "2"


def test_nested_with_client_is_an_error(client: Any) -> None:
    with client, pytest.raises(RuntimeError, match="Cannot nest"), client:
        pass


def test_test_request_context_builds_full_request(app: Treadle) -> None:
    with app.test_request_context(
        "/p?x=1", method="POST", data={"f": "v"}, headers={"X-H": "h"}, base_url="https://example.test:8443/root/"
    ):
        assert request.method == "POST"
        assert request.form["f"] == "v"
        assert request.headers["X-H"] == "h"
        assert request.url == "https://example.test:8443/root/p?x=1"
        assert request.script_root == "/root"


def test_environ_builder_uses_server_name_and_root(app: Treadle) -> None:
    app.config.update(SERVER_NAME="site.test:8080", APPLICATION_ROOT="/app", PREFERRED_URL_SCHEME="https")
    environ = EnvironBuilder(app, "/page").get_environ()
    assert environ["HTTP_HOST"] == "site.test:8080"
    assert environ["SCRIPT_NAME"] == "/app"
    assert environ["PATH_INFO"] == "/page"
    assert environ["wsgi.url_scheme"] == "https"


def test_environ_builder_encodes_unicode_path(app: Treadle) -> None:
    environ = EnvironBuilder(app, "/caf%C3%A9").get_environ()
    assert environ["PATH_INFO"] == "/caf\u00e9".encode().decode("latin-1")


def test_unicode_path_reaches_view(app: Treadle, client: Any) -> None:
    app.get("/caf\u00e9")(lambda: "matched")
    assert client.get("/caf\u00e9").data == b"matched"


def test_open_accepts_environ_dict(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: "from environ")
    environ = EnvironBuilder(app, "/").get_environ()
    assert client.open(environ).data == b"from environ"


def test_cli_runner_invokes_app_command(app: Treadle) -> None:
    import click

    from treadle import current_app

    @app.cli.command("hello")
    @click.option("--name", default="World")
    def hello(name: str) -> None:
        click.echo(f"Hello {name} from {current_app.name}")

    result = app.test_cli_runner().invoke(args=["hello", "--name", "Ann"])
    assert result.exit_code == 0
    assert result.output == "Hello Ann from app_under_test\n"
