"""File serving: safe_join, the conditional/range core, send_file and send_from_directory."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from treadle.exceptions import NotFound, RequestedRangeNotSatisfiable
from treadle.files import safe_join, send_file, send_from_directory
from treadle.httputil import http_date
from treadle.wrappers import Response

EnvironFactory = Callable[..., dict[str, Any]]
CONTENT = b"0123456789" * 10


@pytest.fixture
def root(tmp_path: Path) -> Path:
    directory = tmp_path / "root"
    directory.mkdir()
    (directory / "file.txt").write_bytes(CONTENT)
    (directory / "sub").mkdir()
    (directory / "sub" / "inner.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("secret")
    return directory


def run(response: Response, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = response(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return seen["status"], seen["headers"], data


# --- safe_join -----------------------------------------------------------------------------


def test_safe_join_joins_plain_paths(root: Path) -> None:
    assert safe_join(root, "sub/inner.css") == f"{root}/sub/inner.css"


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../secret.txt",
        "sub/../../secret.txt",
        "/etc/passwd",
        "sub\\..\\..\\secret.txt",
        "C:secret.txt",
        "C:\\Windows",
        "file.txt\x00.png",
    ],
)
def test_safe_join_refuses_escapes(root: Path, name: str) -> None:
    assert safe_join(root, name) is None


def test_safe_join_refuses_symlink_leaving_the_root(root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    assert safe_join(root, "link.txt") is None


def test_safe_join_refuses_symlinked_directory_leaving_the_root(root: Path) -> None:
    (root / "outside").symlink_to(root.parent)
    assert safe_join(root, "outside/secret.txt") is None


def test_safe_join_allows_symlink_inside_the_root(root: Path) -> None:
    (root / "alias.txt").symlink_to(root / "file.txt")
    assert safe_join(root, "alias.txt") == f"{root}/alias.txt"


def test_safe_join_of_several_parts(root: Path) -> None:
    assert safe_join(root, "sub", "inner.css") == f"{root}/sub/inner.css"


# --- send_file: whole files ----------------------------------------------------------------


def test_send_file_headers_and_body(root: Path, make_environ: EnvironFactory) -> None:
    path = root / "file.txt"
    status, headers, body = run(send_file(path, make_environ()), make_environ())
    assert status == "200 OK" and body == CONTENT
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Length"] == str(len(CONTENT))
    assert headers["Last-Modified"] == http_date(int(path.stat().st_mtime))
    assert headers["ETag"].startswith('"') and headers["Accept-Ranges"] == "bytes"
    assert headers["Cache-Control"] == "no-cache"
    assert headers["Content-Disposition"] == "inline; filename=file.txt"


def test_send_file_uses_the_servers_file_wrapper(root: Path, make_environ: EnvironFactory) -> None:
    class Wrapper:
        def __init__(self, file: Any, block_size: int) -> None:
            self.file, self.block_size = file, block_size

        def __iter__(self) -> Any:
            return iter(lambda: self.file.read(self.block_size), b"")

        def close(self) -> None:
            self.file.close()

    environ = make_environ(**{"wsgi.file_wrapper": Wrapper})
    response = send_file(root / "file.txt", environ)
    body = response(environ, lambda status, headers: None)
    assert isinstance(body, Wrapper)
    assert b"".join(body) == CONTENT
    body.close()


def test_send_file_max_age_makes_it_cacheable(root: Path, make_environ: EnvironFactory) -> None:
    _, headers, _ = run(send_file(root / "file.txt", make_environ(), max_age=60), make_environ())
    assert headers["Cache-Control"] == "public, max-age=60"
    assert "Expires" in headers


def test_send_file_max_age_callable_gets_the_path(root: Path, make_environ: EnvironFactory) -> None:
    seen: list[str | None] = []

    def max_age(path: str | None) -> int:
        seen.append(path)
        return 5

    send_file(root / "file.txt", make_environ(), max_age=max_age).close()
    assert seen == [str(root / "file.txt")]


def test_send_file_head_has_length_but_no_body(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(method="HEAD")
    status, headers, body = run(send_file(root / "file.txt", environ), environ)
    assert status == "200 OK" and body == b""
    assert headers["Content-Length"] == str(len(CONTENT))


def test_send_file_relative_to_root_path(root: Path, make_environ: EnvironFactory) -> None:
    response = send_file("sub/inner.css", make_environ(), _root_path=root)
    assert response.mimetype == "text/css"
    response.close()


def test_send_file_missing_path_is_404(root: Path, make_environ: EnvironFactory) -> None:
    with pytest.raises(NotFound):
        send_file(root / "nope.txt", make_environ())


def test_send_file_directory_is_404(root: Path, make_environ: EnvironFactory) -> None:
    with pytest.raises(NotFound):
        send_file(root / "sub", make_environ())


def test_send_file_attachment_with_unicode_name(root: Path, make_environ: EnvironFactory) -> None:
    response = send_file(
        root / "file.txt", make_environ(), as_attachment=True, download_name="r\u00e9sum\u00e9.txt"
    )
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=resume.txt; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    )
    response.close()


def test_send_file_object_with_download_name(make_environ: EnvironFactory) -> None:
    response = send_file(io.BytesIO(b"png bytes"), make_environ(), download_name="a.png")
    _, headers, body = run(response, make_environ())
    assert body == b"png bytes"
    assert headers["Content-Type"] == "image/png" and headers["Content-Length"] == "9"
    assert "ETag" not in headers


def test_send_file_object_range_uses_its_size(make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"Range": "bytes=2-4"})
    response = send_file(io.BytesIO(b"abcdefg"), environ, mimetype="text/plain")
    status, _, body = run(response, environ)
    assert status == "206 PARTIAL CONTENT" and body == b"cde"


def test_send_file_object_without_name_or_mimetype_names_the_fix(
    make_environ: EnvironFactory,
) -> None:
    with pytest.raises(TypeError, match="download_name"):
        send_file(io.BytesIO(b"x"), make_environ())


def test_send_file_x_sendfile_sends_no_body(root: Path, make_environ: EnvironFactory) -> None:
    response = send_file(root / "file.txt", make_environ(), use_x_sendfile=True)
    status, headers, body = run(response, make_environ())
    assert status == "200 OK" and body == b""
    assert headers["X-Sendfile"] == str(root / "file.txt")
    assert headers["Content-Length"] == str(len(CONTENT))


def test_send_file_custom_etag_string(root: Path, make_environ: EnvironFactory) -> None:
    response = send_file(root / "file.txt", make_environ(), etag="v7")
    assert response.headers["ETag"] == '"v7"'
    response.close()


# --- conditional requests ------------------------------------------------------------------


def _etag(root: Path, make_environ: EnvironFactory) -> str:
    response = send_file(root / "file.txt", make_environ())
    response.close()
    return str(response.headers["ETag"])


def test_if_none_match_gives_304(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"If-None-Match": _etag(root, make_environ)})
    status, headers, body = run(send_file(root / "file.txt", environ), environ)
    assert status == "304 NOT MODIFIED" and body == b""
    assert "Content-Length" not in headers and "ETag" in headers


def test_if_modified_since_gives_304(root: Path, make_environ: EnvironFactory) -> None:
    since = http_date((root / "file.txt").stat().st_mtime + 10)
    environ = make_environ(headers={"If-Modified-Since": since})
    status, _, _ = run(send_file(root / "file.txt", environ), environ)
    assert status == "304 NOT MODIFIED"


def test_stale_if_modified_since_gives_200(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"If-Modified-Since": http_date(0)})
    assert run(send_file(root / "file.txt", environ), environ)[0] == "200 OK"


def test_conditional_false_always_sends(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"If-None-Match": "*", "Range": "bytes=0-1"})
    status, _, body = run(send_file(root / "file.txt", environ, conditional=False), environ)
    assert status == "200 OK" and body == CONTENT


# --- ranges --------------------------------------------------------------------------------


def test_single_range_gives_206(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"Range": "bytes=10-19"})
    status, headers, body = run(send_file(root / "file.txt", environ), environ)
    assert status == "206 PARTIAL CONTENT" and body == CONTENT[10:20]
    assert headers["Content-Range"] == f"bytes 10-19/{len(CONTENT)}"
    assert headers["Content-Length"] == "10"


def test_suffix_range_gives_the_tail(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"Range": "bytes=-5"})
    _, _, body = run(send_file(root / "file.txt", environ), environ)
    assert body == CONTENT[-5:]


def test_open_range_runs_to_the_end(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"Range": "bytes=95-"})
    _, _, body = run(send_file(root / "file.txt", environ), environ)
    assert body == CONTENT[95:]


def test_unsatisfiable_range_raises_416_with_length(
    root: Path, make_environ: EnvironFactory
) -> None:
    environ = make_environ(headers={"Range": "bytes=500-600"})
    with pytest.raises(RequestedRangeNotSatisfiable) as info:
        send_file(root / "file.txt", environ)
    assert info.value.length == len(CONTENT)


def test_several_ranges_answer_whole(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"Range": "bytes=0-1,5-6"})
    status, _, body = run(send_file(root / "file.txt", environ), environ)
    assert status == "200 OK" and body == CONTENT


def test_malformed_range_answers_whole(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"Range": "bytes=x-y"})
    assert run(send_file(root / "file.txt", environ), environ)[0] == "200 OK"


def test_if_range_with_old_etag_answers_whole(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
    status, _, body = run(send_file(root / "file.txt", environ), environ)
    assert status == "200 OK" and body == CONTENT


def test_if_range_with_current_etag_gives_206(root: Path, make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"Range": "bytes=0-1", "If-Range": _etag(root, make_environ)})
    status, _, body = run(send_file(root / "file.txt", environ), environ)
    assert status == "206 PARTIAL CONTENT" and body == b"01"


def test_range_body_is_bounded_for_sendfile(root: Path, make_environ: EnvironFactory) -> None:
    """A server's sendfile starts at tell() and sends Content-Length bytes."""

    class Wrapper:
        def __init__(self, file: Any, block_size: int) -> None:
            self.filelike = file

        def __iter__(self) -> Any:
            return iter(lambda: self.filelike.read(7), b"")

        def close(self) -> None:
            self.filelike.close()

    environ = make_environ(headers={"Range": "bytes=30-39"}, **{"wsgi.file_wrapper": Wrapper})
    response = send_file(root / "file.txt", environ)
    body = response(environ, lambda status, headers: None)
    assert body.filelike.tell() == 30
    assert os.fstat(body.filelike.fileno()).st_size == len(CONTENT)
    assert b"".join(body) == CONTENT[30:40]
    body.close()


# --- send_from_directory -------------------------------------------------------------------


def test_send_from_directory_serves_inside(root: Path, make_environ: EnvironFactory) -> None:
    _, _, body = run(send_from_directory(root, "sub/inner.css", make_environ()), make_environ())
    assert body == b"body{}"


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/passwd", "sub", "missing.txt", ""])
def test_send_from_directory_404s_escapes_dirs_and_missing(
    root: Path, make_environ: EnvironFactory, name: str
) -> None:
    with pytest.raises(NotFound):
        send_from_directory(root, name, make_environ())
