"""SharedDataMiddleware: exports, traversal refusals, caching, ranges, fall-through, real socket."""

from __future__ import annotations

import http.client
import io
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from treadle.middleware.static import SharedDataMiddleware

CSS = b"body { color: red }"


class App:
    """The wrapped app: records that it was reached."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"from app"]


def environ_for(path: str, method: str = "GET", **headers: str) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    return environ


def call(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return seen["status"], seen["headers"], data


@pytest.fixture
def site(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "site.css").write_bytes(CSS)
    (static / "data.bin").write_bytes(bytes(range(100)))
    (static / "settings.py").write_text("SECRET = 1")
    (tmp_path / "secret.txt").write_text("do not serve")
    (tmp_path / "favicon.ico").write_bytes(b"icon")
    return tmp_path


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def middleware(site: Path, app: App) -> SharedDataMiddleware:
    return SharedDataMiddleware(
        app,
        {"/static": str(site / "static"), "/favicon.ico": str(site / "favicon.ico")},
        disallow="*.py",
    )


def test_serves_a_file_from_a_directory_export(middleware: SharedDataMiddleware, app: App) -> None:
    status, headers, body = call(middleware, environ_for("/static/css/site.css"))
    assert status == "200 OK" and body == CSS
    assert headers["Content-Type"] == "text/css; charset=utf-8"
    assert headers["Content-Length"] == str(len(CSS))
    assert app.calls == 0


def test_serves_a_single_file_export(middleware: SharedDataMiddleware) -> None:
    status, _, body = call(middleware, environ_for("/favicon.ico"))
    assert status == "200 OK" and body == b"icon"


def test_cache_headers_by_default(middleware: SharedDataMiddleware) -> None:
    _, headers, _ = call(middleware, environ_for("/static/css/site.css"))
    assert headers["Cache-Control"] == f"public, max-age={60 * 60 * 12}"
    assert "ETag" in headers and "Last-Modified" in headers and "Expires" in headers


def test_without_cache_there_is_no_etag(site: Path, app: App) -> None:
    middleware = SharedDataMiddleware(app, {"/static": str(site / "static")}, cache=False)
    _, headers, _ = call(middleware, environ_for("/static/css/site.css"))
    assert "ETag" not in headers and headers["Cache-Control"] == "no-cache"


def test_matching_etag_gives_304(middleware: SharedDataMiddleware) -> None:
    _, headers, _ = call(middleware, environ_for("/static/css/site.css"))
    environ = environ_for("/static/css/site.css", If_None_Match=headers["ETag"])
    status, _, body = call(middleware, environ)
    assert status == "304 Not Modified" and body == b""


def test_head_sends_headers_only(middleware: SharedDataMiddleware) -> None:
    status, headers, body = call(middleware, environ_for("/static/css/site.css", "HEAD"))
    assert status == "200 OK" and body == b"" and headers["Content-Length"] == str(len(CSS))


def test_range_gives_206(middleware: SharedDataMiddleware) -> None:
    status, headers, body = call(middleware, environ_for("/static/data.bin", Range="bytes=10-14"))
    assert status == "206 Partial Content" and body == bytes(range(10, 15))
    assert headers["Content-Range"] == "bytes 10-14/100"


def test_unsatisfiable_range_gives_416(middleware: SharedDataMiddleware) -> None:
    status, headers, _ = call(middleware, environ_for("/static/data.bin", Range="bytes=200-300"))
    assert status == "416 Requested Range Not Satisfiable"
    assert headers["Content-Range"] == "bytes */100"


TRAVERSALS = [
    "/static/../secret.txt",
    "/static/css/../../secret.txt",
    "/static/..",
    "/static//etc/passwd",
    "/static/..\\secret.txt",
    "/static/css\\..\\..\\secret.txt",
    "/static/C:/secret.txt",
    "/static/site.css\x00.png",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_is_404_without_reaching_the_app(
    middleware: SharedDataMiddleware, app: App, path: str
) -> None:
    status, _, body = call(middleware, environ_for(path))
    assert status == "404 Not Found" and b"secret" not in body
    assert app.calls == 0


def test_symlink_leaving_the_export_is_404(site: Path, app: App) -> None:
    (site / "static" / "escape.txt").symlink_to(site / "secret.txt")
    middleware = SharedDataMiddleware(app, {"/static": str(site / "static")})
    status, _, body = call(middleware, environ_for("/static/escape.txt"))
    assert status == "404 Not Found" and body == b"Not Found"


@pytest.mark.parametrize("path", ["/static", "/static/", "/static/css", "/static/css/"])
def test_directories_are_404_without_listing(
    middleware: SharedDataMiddleware, app: App, path: str
) -> None:
    status, _, body = call(middleware, environ_for(path))
    assert status == "404 Not Found" and b"site.css" not in body
    assert app.calls == 0


def test_missing_file_goes_to_the_app(middleware: SharedDataMiddleware, app: App) -> None:
    assert call(middleware, environ_for("/static/missing.js"))[2] == b"from app"
    assert app.calls == 1


def test_disallowed_names_go_to_the_app(middleware: SharedDataMiddleware, app: App) -> None:
    assert call(middleware, environ_for("/static/settings.py"))[2] == b"from app"


def test_other_methods_go_to_the_app(middleware: SharedDataMiddleware, app: App) -> None:
    assert call(middleware, environ_for("/static/css/site.css", "POST"))[2] == b"from app"


def test_paths_outside_exports_go_to_the_app(middleware: SharedDataMiddleware) -> None:
    assert call(middleware, environ_for("/staticfoo/css/site.css"))[2] == b"from app"


def test_utf8_file_names_are_found(site: Path, app: App) -> None:
    (site / "static" / "caf\u00e9.txt").write_bytes(b"coffee")
    middleware = SharedDataMiddleware(app, {"/static": str(site / "static")})
    wsgi_path = "/static/caf\u00e9.txt".encode().decode("latin-1")
    assert call(middleware, environ_for(wsgi_path))[2] == b"coffee"


def test_longest_prefix_wins(site: Path, app: App) -> None:
    (site / "other").mkdir()
    (site / "other" / "site.css").write_bytes(b"other")
    middleware = SharedDataMiddleware(
        app, {"/static": str(site / "static"), "/static/css": str(site / "other")}
    )
    assert call(middleware, environ_for("/static/css/site.css"))[2] == b"other"


def test_package_export(tmp_path: Path, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "pkgs" / "demo_static_pkg"
    (package / "assets").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "assets" / "app.js").write_bytes(b"console.log(1)")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    monkeypatch.delitem(sys.modules, "demo_static_pkg", raising=False)
    middleware = SharedDataMiddleware(app, {"/pkg": ("demo_static_pkg", "assets")})
    status, headers, body = call(middleware, environ_for("/pkg/app.js"))
    assert status == "200 OK"
    assert body == b"console.log(1)"
    assert "javascript" in headers["Content-Type"]


def test_unknown_package_export_names_the_problem(app: App) -> None:
    with pytest.raises(ValueError, match="not an importable package"):
        SharedDataMiddleware(app, {"/pkg": ("no_such_package_xyz", "static")})


def test_unknown_extension_uses_fallback_mimetype(site: Path, app: App) -> None:
    (site / "static" / "blob.unknownext").write_bytes(b"?")
    middleware = SharedDataMiddleware(app, {"/static": str(site / "static")})
    _, headers, _ = call(middleware, environ_for("/static/blob.unknownext"))
    assert headers["Content-Type"] == "application/octet-stream"


# --- over a real socket --------------------------------------------------------------------


def _get(url_host: str, port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(url_host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_serves_and_refuses_over_a_real_socket(
    serve: Any, middleware: SharedDataMiddleware
) -> None:
    server = serve(middleware)
    assert _get(server.host, server.port, "/static/css/site.css") == (200, CSS)
    assert _get(server.host, server.port, "/static/../secret.txt")[0] == 404
    assert _get(server.host, server.port, "/static/%2e%2e/secret.txt")[0] == 404
    assert _get(server.host, server.port, "/static/css%2f..%2f..%2fsecret.txt")[0] == 404
    assert _get(server.host, server.port, "/other") == (200, b"from app")


def test_large_file_over_a_real_socket(serve: Any, site: Path, app: App) -> None:
    data = bytes(range(256)) * 8192
    (site / "static" / "big.bin").write_bytes(data)
    server = serve(SharedDataMiddleware(app, {"/static": str(site / "static")}))
    assert _get(server.host, server.port, "/static/big.bin") == (200, data)


def test_range_over_a_real_socket(serve: Any, site: Path, app: App) -> None:
    data = bytes(range(256)) * 4096
    (site / "static" / "big.bin").write_bytes(data)
    server = serve(SharedDataMiddleware(app, {"/static": str(site / "static")}))
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("GET", "/static/big.bin", headers={"Range": "bytes=1000-200999"})
        response = connection.getresponse()
        assert response.status == 206
        assert response.getheader("Content-Range") == f"bytes 1000-200999/{len(data)}"
        assert response.read() == data[1000:201000]
    finally:
        connection.close()
