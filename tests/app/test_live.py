"""A representative app over a real socket, on the threaded and the pre-forked server."""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any

import pytest

from treadle import (
    Blueprint,
    Treadle,
    abort,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
    stream_with_context,
    url_for,
)

TIMEOUT = 10.0


def make_app(root: Path) -> Treadle:
    (root / "static").mkdir(exist_ok=True)
    (root / "static" / "hello.txt").write_text("static hello")
    app = Treadle("live_app", root_path=str(root))
    app.secret_key = "live secret"

    @app.get("/")
    def index() -> str:
        return "Hello, World!"

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        return {"id": item_id, "double": item_id * 2}

    @app.get("/page/<name>")
    def page(name: str) -> str:
        return render_template_string("<h1>{{ name }}</h1><a href='{{ url_for('index') }}'>home</a>", name=name)

    @app.post("/form")
    def form() -> Any:
        return jsonify(fields=request.form.to_dict())

    @app.get("/login/<user>")
    def login(user: str) -> Any:
        session["user"] = user
        return redirect(url_for("whoami"))

    @app.get("/whoami")
    def whoami() -> str:
        return session.get("user", "nobody")

    @app.get("/stream")
    def stream() -> Any:
        def generate() -> Any:
            for n in range(3):
                yield f"{request.args.get('prefix', '')}{n};"

        return stream_with_context(generate())

    @app.get("/forbidden")
    def forbidden() -> str:
        abort(403)

    bp = Blueprint("api", __name__, url_prefix="/api")
    bp.get("/ping")(lambda: {"pong": True})
    app.register_blueprint(bp)
    return app


@pytest.fixture(params=["threaded", "prefork"])
def server(request: pytest.FixtureRequest, serve: Any, tmp_path: Path) -> Any:
    app = make_app(tmp_path)
    if request.param == "threaded":
        return serve(app, threaded=True)
    return serve(app, processes=2)


def fetch(srv: Any, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_text_route(server: Any) -> None:
    status, headers, body = fetch(server, "GET", "/")
    assert (status, body) == (200, b"Hello, World!")
    assert headers["content-type"] == "text/html; charset=utf-8"


def test_json_route_with_int_converter(server: Any) -> None:
    status, headers, body = fetch(server, "GET", "/items/21")
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body == b'{"double":42,"id":21}\n'


def test_template_route_escapes(server: Any) -> None:
    status, _, body = fetch(server, "GET", "/page/%3Cb%3E")
    assert status == 200
    assert body == b"<h1>&lt;b&gt;</h1><a href='/'>home</a>"


def test_form_post(server: Any) -> None:
    status, _, body = fetch(
        server, "POST", "/form", b"a=1&b=two", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200
    assert body == b'{"fields":{"a":"1","b":"two"}}\n'


def test_session_cookie_round_trip(server: Any) -> None:
    status, headers, _ = fetch(server, "GET", "/login/ann")
    assert status == 302
    assert headers["location"] == "/whoami"
    cookie = headers["set-cookie"].split(";", 1)[0]
    _, _, body = fetch(server, "GET", "/whoami", headers={"Cookie": cookie})
    assert body == b"ann"


def test_streamed_response_keeps_request_context(server: Any) -> None:
    status, _, body = fetch(server, "GET", "/stream?prefix=n")
    assert (status, body) == (200, b"n0;n1;n2;")


def test_errors_and_allow_header(server: Any) -> None:
    assert fetch(server, "GET", "/missing")[0] == 404
    assert fetch(server, "GET", "/forbidden")[0] == 403
    status, headers, _ = fetch(server, "DELETE", "/")
    assert status == 405
    assert "GET" in headers["allow"]


def test_blueprint_and_static(server: Any) -> None:
    assert fetch(server, "GET", "/api/ping")[2] == b'{"pong":true}\n'
    status, headers, body = fetch(server, "GET", "/static/hello.txt")
    assert (status, body) == (200, b"static hello")
    assert headers["content-type"].startswith("text/plain")


def test_head_has_no_body(server: Any) -> None:
    status, headers, body = fetch(server, "HEAD", "/")
    assert status == 200
    assert body == b""
    assert headers["content-length"] == "13"
