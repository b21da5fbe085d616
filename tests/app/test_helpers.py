"""Helpers: redirect, abort, flash, make_response, send_file/send_from_directory, streaming."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from treadle import (
    Treadle,
    abort,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    request,
    send_file,
    send_from_directory,
    stream_with_context,
    url_for,
)
from treadle.exceptions import Aborter, HTTPException, NotFound


def test_redirect_defaults_to_302_with_location(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: redirect("/target"))
    rv = client.get("/")
    assert rv.status_code == 302
    assert rv.headers["Location"] == "/target"
    assert b"/target" in rv.data


def test_redirect_code_and_url_for(app: Treadle, client: Any) -> None:
    @app.get("/dest")
    def dest() -> str:
        return "arrived"

    app.post("/")(lambda: redirect(url_for("dest"), 303))
    rv = client.post("/", follow_redirects=True)
    assert rv.data == b"arrived"
    assert [r.status_code for r in rv.history] == [303]


def test_redirect_escapes_location_in_body(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: redirect('/x?a="<script>'))
    assert b"<script>" not in client.get("/").data


def test_redirect_encodes_non_ascii_location(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: redirect("/caf\u00e9"))
    assert client.get("/").headers["Location"] == "/caf%C3%A9"


def test_redirect_outside_app_context() -> None:
    response = redirect("/elsewhere", 301)
    assert response.status_code == 301


def test_app_redirect_is_used_by_helper(app: Treadle, client: Any) -> None:
    class CustomApp(Treadle):
        def redirect(self, location: str, code: int = 302) -> Any:
            response = super().redirect(location, code)
            response.headers["X-Custom"] = "1"
            return response

    custom = CustomApp("custom")
    custom.get("/")(lambda: redirect("/x"))
    assert custom.test_client().get("/").headers["X-Custom"] == "1"


def test_abort_raises_http_exception(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: abort(404, "gone fishing"))
    rv = client.get("/")
    assert rv.status_code == 404
    assert b"gone fishing" in rv.data


def test_abort_uses_app_aborter(app: Treadle, client: Any) -> None:
    class Custom(HTTPException):
        code = 499
        description = "custom code"

    app.aborter = Aborter(extra={499: Custom})
    app.get("/")(lambda: abort(499))
    assert client.get("/").status_code == 499


def test_abort_outside_app_context() -> None:
    with pytest.raises(NotFound):
        abort(404)


def test_flash_messages_survive_to_next_request(app: Treadle, client: Any) -> None:
    @app.get("/save")
    def save() -> str:
        flash("Saved")
        flash("Careful", "warning")
        return ""

    app.get("/read")(lambda: {"all": get_flashed_messages(with_categories=True)})
    client.get("/save")
    assert client.get("/read").json == {"all": [["message", "Saved"], ["warning", "Careful"]]}
    assert client.get("/read").json == {"all": []}


def test_flashed_messages_filter_by_category(app: Treadle, client: Any) -> None:
    @app.get("/save")
    def save() -> str:
        flash("a", "info")
        flash("b", "error")
        return ""

    app.get("/read")(lambda: {"errors": get_flashed_messages(category_filter=["error"])})
    client.get("/save")
    assert client.get("/read").json == {"errors": ["b"]}


def test_get_flashed_messages_is_stable_within_request(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> Any:
        flash("now")
        first = get_flashed_messages()
        flash("later")
        return {"first": first, "second": get_flashed_messages()}

    assert client.get("/").json == {"first": ["now"], "second": ["now"]}
    assert client.get("/").json == {"first": ["later", "now"], "second": ["later", "now"]}


def test_make_response_lets_view_add_headers(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> Any:
        response = make_response("body", 201)
        response.headers["X-Made"] = "yes"
        return response

    rv = client.get("/")
    assert (rv.status_code, rv.headers["X-Made"]) == (201, "yes")


def test_make_response_without_args_is_empty(app: Treadle) -> None:
    with app.app_context():
        assert make_response().status_code == 200
        assert make_response({"a": 1}).json == {"a": 1}


def test_send_file_from_path(app: Treadle, client: Any, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    target.write_text("report body")
    app.get("/")(lambda: send_file(str(target)))
    rv = client.get("/")
    assert rv.data == b"report body"
    assert rv.mimetype == "text/plain"
    assert "ETag" in rv.headers
    rv.close()


def test_send_file_as_attachment_sets_disposition(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: send_file(io.BytesIO(b"data"), as_attachment=True, download_name="r.csv"))
    rv = client.get("/")
    assert "attachment" in rv.headers["Content-Disposition"]
    assert "r.csv" in rv.headers["Content-Disposition"]
    assert rv.mimetype == "text/csv"
    rv.close()


def test_send_file_conditional_304(app: Treadle, client: Any, tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("x")
    app.get("/")(lambda: send_file(str(target)))
    first = client.get("/")
    etag = first.headers["ETag"]
    first.close()
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    again.close()


def test_send_file_range_request(app: Treadle, client: Any, tmp_path: Path) -> None:
    target = tmp_path / "digits.txt"
    target.write_text("0123456789")
    app.get("/")(lambda: send_file(str(target)))
    rv = client.get("/", headers={"Range": "bytes=2-4"})
    assert rv.status_code == 206
    assert rv.data == b"234"
    rv.close()


def test_send_file_max_age_from_config(app: Treadle, client: Any, tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("x")
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 60
    app.get("/")(lambda: send_file(str(target)))
    rv = client.get("/")
    assert "max-age=60" in rv.headers["Cache-Control"]
    rv.close()


def test_send_from_directory_serves_inside(app: Treadle, client: Any, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "ok.txt").write_text("ok")
    app.get("/f/<path:name>")(lambda name: send_from_directory(str(tmp_path / "files"), name))
    rv = client.get("/f/ok.txt")
    assert rv.data == b"ok"
    rv.close()


def test_send_from_directory_404_on_traversal(app: Treadle, client: Any, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    app.get("/f/<path:name>")(lambda name: send_from_directory(str(tmp_path / "files"), name))
    assert client.get("/f/../secret.txt").status_code == 404
    assert client.get("/f/missing.txt").status_code == 404


def test_send_from_directory_rejects_absolute_path(app: Treadle, tmp_path: Path) -> None:
    with app.test_request_context(), pytest.raises(NotFound):
        send_from_directory(str(tmp_path), "/etc/passwd")


def test_stream_with_context_generator(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> Any:
        def generate() -> Any:
            yield "Hello "
            yield request.args["name"]

        return stream_with_context(generate())

    assert client.get("/?name=World").data == b"Hello World"


def test_stream_with_context_as_decorator(app: Treadle, client: Any) -> None:
    @app.get("/")
    def index() -> Any:
        @stream_with_context
        def generate() -> Any:
            yield request.path

        return generate()

    assert client.get("/").data == b"/"


def test_stream_with_context_requires_request() -> None:
    with pytest.raises(RuntimeError, match="request context is active"):
        stream_with_context(iter(["x"]))


def test_stream_with_context_runs_teardown_after_streaming(app: Treadle, client: Any) -> None:
    events: list[str] = []
    app.teardown_request(lambda exc: events.append("teardown"))

    @app.get("/")
    def index() -> Any:
        def generate() -> Any:
            events.append("chunk")
            yield "x"

        return stream_with_context(generate())

    assert client.get("/").data == b"x"
    assert events == ["chunk", "teardown"]
