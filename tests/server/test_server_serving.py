"""run_simple, startup lines and the ``python -m treadle.serving`` CLI, run as real processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from wire import Client, get

from treadle.server.cli import load_app
from treadle.server.serving import raise_fd_limit, startup_lines, systemd_listen_fd
from treadle.serving import run_simple

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def noop(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("204 No Content", [])
    return []


def spawn(args: list[str], cwd: Path = ROOT) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, *args], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env, cwd=cwd)


def bound_port(proc: subprocess.Popen[str]) -> int:
    """Read stderr until the startup line names the port."""
    assert proc.stderr is not None
    deadline = time.monotonic() + 20
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if " * Running on http" in line:
            return int(line.strip().rsplit(":", 1)[1])
    proc.kill()
    raise AssertionError("no startup line; stderr was:\n" + "".join(seen))


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def fetch(port: int, path: str = "/") -> Any:
    return get(SimpleNamespace(server=SimpleNamespace(server_address=("127.0.0.1", port))), path)


# -- run_simple --------------------------------------------------------------------------


def test_port_must_be_an_integer() -> None:
    with pytest.raises(TypeError, match="port must be an integer"):
        run_simple("127.0.0.1", "5000", noop)  # type: ignore[arg-type]


def test_unknown_server_option_is_named() -> None:
    with pytest.raises(TypeError, match="unknown server option"):
        run_simple("127.0.0.1", 0, noop, keep_alive=3)


def test_startup_lines_for_a_loopback_address() -> None:
    server = SimpleNamespace(host="127.0.0.1", port=5000, ssl_context=None, config=None)
    assert startup_lines(server, "127.0.0.1") == [" * Running on http://127.0.0.1:5000"]  # type: ignore[arg-type]


def test_startup_lines_for_all_addresses_list_loopback() -> None:
    server = SimpleNamespace(host="0.0.0.0", port=80, ssl_context=object(), config=None)
    lines = startup_lines(server, "0.0.0.0")  # type: ignore[arg-type]
    assert lines[0] == " * Running on all addresses (0.0.0.0)"
    assert " * Running on https://127.0.0.1:80" in lines


def test_startup_lines_for_ipv6_and_unix() -> None:
    v6 = SimpleNamespace(host="::1", port=8000, ssl_context=None, config=None)
    assert startup_lines(v6, "::1") == [" * Running on http://[::1]:8000"]  # type: ignore[arg-type]
    unix = SimpleNamespace(host="unix:/tmp/a.sock", port=0, ssl_context=None, config=None)
    assert startup_lines(unix, "unix:/tmp/a.sock") == [" * Running on unix:/tmp/a.sock"]  # type: ignore[arg-type]


def test_run_simple_serves_static_files_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "hello.txt").write_text("static hello")
    script = tmp_path / "serve.py"
    script.write_text(textwrap.dedent(f"""
        from treadle.serving import run_simple

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"dynamic"]

        run_simple("127.0.0.1", 0, app, threaded=True,
                   static_files={{"/static": {str(tmp_path / "static")!r}}})
    """))
    proc = spawn([str(script)])
    try:
        port = bound_port(proc)
        assert fetch(port, "/static/hello.txt").body == b"static hello"
        assert fetch(port, "/other").body == b"dynamic"
    finally:
        assert stop(proc) == 0


# -- the CLI -------------------------------------------------------------------------------


def test_cli_help_lists_the_options() -> None:
    result = subprocess.run([sys.executable, "-m", "treadle.serving", "--help"],
                            capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert result.returncode == 0
    for option in ("--threaded", "--processes", "--threads", "--cert", "--adhoc",
                   "--header-timeout", "--max-connections", "--max-body", "--max-requests",
                   "--max-requests-jitter", "--timeout", "--graceful-timeout"):
        assert option in result.stdout


def test_cli_serves_a_module_attribute_threaded() -> None:
    proc = spawn(["-m", "treadle.serving", "--port", "0", "--threads", "4", "cli_apps:app"])
    try:
        port = bound_port(proc)
        with Client(("127.0.0.1", port)) as client:
            assert client.request().body == b"plain app"
            assert client.request().body == b"plain app"
    finally:
        assert stop(proc) == 0


def test_cli_calls_a_factory_with_literal_arguments() -> None:
    proc = spawn(["-m", "treadle.serving", "--port", "0", "--keepalive-timeout", "2",
                  "--max-body", "100", "cli_apps:create_app('hi there')"])
    try:
        port = bound_port(proc)
        assert fetch(port).body == b"hi there"
    finally:
        assert stop(proc) == 0


def test_cli_reports_a_missing_module_and_exits_2() -> None:
    result = subprocess.run([sys.executable, "-m", "treadle.serving", "no_such_module:app"],
                            capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert result.returncode == 2
    assert "no_such_module" in result.stderr


def test_cli_requires_cert_and_key_together() -> None:
    result = subprocess.run([sys.executable, "-m", "treadle.serving", "--cert", "c.pem",
                             "cli_apps:app"], capture_output=True, text=True, timeout=30, cwd=HERE)
    assert result.returncode == 2
    assert "--cert and --key go together" in result.stderr


def test_load_app_finds_attributes_and_factories() -> None:
    sys.path.insert(0, str(HERE))
    try:
        assert load_app("cli_apps:app").__name__ == "app"
        assert load_app("cli_apps").__name__ == "app"
        assert callable(load_app("cli_apps:create_app()"))
        with pytest.raises(TypeError, match="not a WSGI callable"):
            load_app("cli_apps:not_callable")
        with pytest.raises(AttributeError, match="has no attribute 'missing'"):
            load_app("cli_apps:missing")
        with pytest.raises(ValueError, match="must be literals"):
            load_app("cli_apps:create_app(open('x'))")
    finally:
        sys.path.remove(str(HERE))


def test_hello_example_reports_its_process_and_thread(serve: Any) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import hello
    finally:
        sys.path.remove(str(ROOT / "examples"))
    srv = serve(hello.app, threaded=True)
    body = get(srv, "/slow").body.decode()
    assert f"process: {os.getpid()}" in body
    # A pool thread, or one of the loop's two threads when the request ran inline.
    assert re.search(r"thread: treadle-(worker|loop)-\d+\n", body), body
    assert get(srv, "/missing").status == 404


# -- systemd socket activation (--fd systemd) ---------------------------------------------


def test_cli_serves_on_the_socket_systemd_passed(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    # As systemd does: the socket on fd 3, LISTEN_PID naming the server's own pid.
    launcher = (f"import os, sys; os.dup2({fd}, 3); os.environ['LISTEN_PID'] = str(os.getpid()); "
                "os.environ['LISTEN_FDS'] = '1'; os.execv(sys.executable, [sys.executable, "
                "'-m', 'treadle.serving', '--fd', 'systemd', '--processes', '2', 'cli_apps:app'])")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", launcher], pass_fds=[fd], env=env, cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)
    listener.close()
    try:
        assert fetch(port).body == b"plain app"
    finally:
        code = stop(proc)
        assert code == 0, proc.stderr.read() if proc.stderr else ""


def test_systemd_fd_without_socket_activation_says_what_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LISTEN_PID", raising=False)
    monkeypatch.delenv("LISTEN_FDS", raising=False)
    with pytest.raises(ValueError, match="LISTEN_PID and LISTEN_FDS are not set"):
        systemd_listen_fd()


def test_systemd_fd_meant_for_another_process_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTEN_PID", str(os.getpid() + 1))
    monkeypatch.setenv("LISTEN_FDS", "1")
    with pytest.raises(ValueError, match="not this one"):
        systemd_listen_fd()


def test_systemd_fd_is_taken_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    monkeypatch.setenv("LISTEN_FDS", "1")
    assert systemd_listen_fd() == 3
    assert "LISTEN_FDS" not in os.environ and "LISTEN_PID" not in os.environ


def test_server_raises_its_open_file_limit_to_the_hard_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
        raise_fd_limit()
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == (
            hard if hard != resource.RLIM_INFINITY else max(256, 65536))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
