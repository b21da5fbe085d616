"""The reloader: a watcher process restarts the serving child when code changes.

End-to-end tests run real processes: a script in a temp dir serves a module's
``MESSAGE`` over a real socket on 127.0.0.1, the test edits the module and
polls until the new text is served. Each process is bounded by timeouts and
its whole process group is killed at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from treadle.dev.reloader import run_with_reloader
from treadle.dev.reloader.channel import RecordReader, encode_paths, encode_stamps, parse_stamp
from treadle.dev.reloader.detectors import StatDetector
from treadle.dev.reloader.files import FileFilter, ModuleScanner, module_source, stamp
from treadle.dev.reloader.settings import ReloaderSettings

DEADLINE = 15.0  # seconds any single awaited event may take on a busy 2-core machine

# A minimal server over the inherited fd, so these tests exercise the reloader
# alone; the run_simple tests below use treadle's real server.
STANDALONE_SCRIPT = """\
import os, socket, sys
from treadle.dev.reloader import run_with_reloader
{imports}

def bind():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    print("LISTENING", sock.getsockname()[1], flush=True)
    return sock

def serve(fd):
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)
    while True:
        conn, _ = sock.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\\r\\n\\r\\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            body = f"{{appmod.MESSAGE}} pid={{os.getpid()}}".encode()
            conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n"
                         b"Connection: close\\r\\n\\r\\n%s" % (len(body), body))

run_with_reloader(serve, bind, {options})
"""


# The same app served by treadle's own server through run_simple.
RUN_SIMPLE_SCRIPT = """\
import os
from treadle.serving import run_simple
import appmod

def app(environ, start_response):
    body = f"{{appmod.MESSAGE}} pid={{os.getpid()}}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]

if __name__ == "__main__":
    run_simple("127.0.0.1", 0, app, use_reloader=True, reloader_interval=0.1, {options})
"""
RUNNING_ON = r"Running on http://127\.0\.0\.1:(\d+)"


def write_module(path: Path, text: str) -> None:
    """Write ``text`` and push the mtime forward, so the edit never hides in one clock tick."""
    before = path.stat().st_mtime_ns if path.exists() else time.time_ns()
    path.write_text(text, encoding="utf-8")
    bumped = max(before, path.stat().st_mtime_ns) + 2_000_000_000
    os.utime(path, ns=(bumped, bumped))


def process_running(pid: int) -> bool:
    """Alive and not a zombie (an orphan waits for whoever adopted it to reap it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def connect(address: int | str, timeout: float = 5.0) -> socket.socket:
    """A connection to a port on 127.0.0.1, or to a Unix socket path."""
    if isinstance(address, int):
        return socket.create_connection(("127.0.0.1", address), timeout=timeout)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(address)
    except BaseException:
        conn.close()
        raise
    return conn


def http_get_raw(address: int | str, timeout: float = 5.0) -> bytes:
    with connect(address, timeout) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data


def http_get(address: int | str, timeout: float = 5.0) -> str:
    data = http_get_raw(address, timeout)
    if not data:
        raise ConnectionResetError("closed without a response")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data
    return body.decode()


class ReloaderRun:
    """A watcher process started from ``script``, with its output collected."""

    def __init__(self, script: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in ("TREADLE_RUN_MAIN", "TREADLE_SERVER_FD", "TREADLE_RELOADER_FD"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, script.name], cwd=script.parent, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port: int | str = 0

    def wait_for_address(self, pattern: str) -> None:
        """Learn the port (or Unix socket path) from the first line matching ``pattern``."""
        found = self.wait_for_line(pattern).group(1)
        self.port = int(found) if found.isdigit() else found

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, start: int = 0) -> re.Match[str]:
        """The first line from index ``start`` on that matches ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + DEADLINE
        with self._changed:
            while True:
                for line in self.lines[start:]:
                    if match := regex.search(line):
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r}; output:\n{self.output}")
                self._changed.wait(remaining)

    def wait_for_body(self, prefix: str) -> str:
        """Poll GET / until a 200 whose body starts with ``prefix``; the body."""
        deadline = time.monotonic() + DEADLINE
        last: object = None
        while time.monotonic() < deadline:
            try:
                data = http_get_raw(self.port)
            except OSError as exc:  # a request cut by a restart
                last = exc
                continue
            head, _, body = data.partition(b"\r\n\r\n")
            if head.startswith(b"HTTP/1.1 200") and body.startswith(prefix.encode()):
                return body.decode()
            last = data
            time.sleep(0.02)  # polling a server, not synchronising with it
        raise AssertionError(f"never served {prefix!r} (last: {last!r}); output:\n{self.output}")

    def stop(self) -> int | None:
        """SIGTERM the watcher and reap it; its exit status (None if it had to be killed)."""
        code: int | None = None
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            code = self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            # Whatever the watcher left behind (a child, workers) goes with the group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=DEADLINE)
            self._reader.join(timeout=DEADLINE)
        return code


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "appmod.py").write_text('MESSAGE = "v1"\n', encoding="utf-8")
    return tmp_path


@pytest.fixture
def start(project: Path) -> Iterator[object]:
    runs: list[ReloaderRun] = []

    def _start(options: str, imports: str = "import appmod", script: str | None = None,
               port_pattern: str = r"LISTENING (\d+)") -> ReloaderRun:
        path = project / "serve.py"
        path.write_text(script or STANDALONE_SCRIPT.format(imports=imports, options=options),
                        encoding="utf-8")
        run = ReloaderRun(path)
        runs.append(run)  # stopped at teardown even if it never starts listening
        run.wait_for_address(port_pattern)
        return run

    yield _start
    for run in runs:
        run.stop()


@pytest.mark.parametrize("reloader_type", ["stat", "watchdog"])
def test_an_edit_is_served_after_the_reload(start, project: Path, reloader_type: str) -> None:
    run = start(f"reloader_type={reloader_type!r}, interval=0.1")
    first = run.wait_for_body("v1")
    write_module(project / "appmod.py", 'MESSAGE = "v2"\n')
    second = run.wait_for_body("v2")
    assert first.split()[1] != second.split()[1], "a new child process serves the new code"
    run.wait_for_line(r"Detected change in '.*appmod\.py', reloading")


def test_watcher_survives_a_syntax_error_and_restarts_on_the_fix(start, project: Path) -> None:
    run = start("reloader_type='stat', interval=0.1")
    run.wait_for_body("v1")
    mark = len(run.lines)
    write_module(project / "appmod.py", 'MESSAGE = (\n')
    run.wait_for_line(r"SyntaxError", mark)
    run.wait_for_line(r"server process exited with code 1; fix the error", mark)
    # The watcher still holds the listening socket: a connection is queued, not refused.
    with connect(run.port):
        pass
    assert run.proc.poll() is None
    write_module(project / "appmod.py", 'MESSAGE = "v3"\n')
    run.wait_for_body("v3")


def test_a_connection_made_while_the_child_is_down_is_served_after_the_fix(
        start, project: Path) -> None:
    run = start("reloader_type='stat', interval=0.1")
    run.wait_for_body("v1")
    mark = len(run.lines)
    write_module(project / "appmod.py", "raise RuntimeError('broken on purpose')\n")
    run.wait_for_line(r"server process exited with code 1", mark)
    with connect(run.port, DEADLINE) as conn:
        conn.settimeout(DEADLINE)
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        write_module(project / "appmod.py", 'MESSAGE = "v4"\n')
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    assert data.partition(b"\r\n\r\n")[2].startswith(b"v4")


def test_a_new_module_that_fails_to_import_is_watched_after_the_crash(
        start, project: Path) -> None:
    run = start("reloader_type='stat', interval=0.1")
    run.wait_for_body("v1")
    mark = len(run.lines)
    (project / "helper.py").write_text("VALUE = (\n", encoding="utf-8")
    write_module(project / "appmod.py", 'from helper import VALUE\nMESSAGE = VALUE\n')
    run.wait_for_line(r"server process exited with code 1", mark)
    write_module(project / "helper.py", 'VALUE = "fixed"\n')
    run.wait_for_body("fixed")


def test_a_change_to_an_extra_file_reloads(start, project: Path) -> None:
    (project / "message.txt").write_text("from-file-1", encoding="utf-8")
    (project / "appmod.py").write_text(
        "MESSAGE = open('message.txt').read()\n", encoding="utf-8")
    run = start("reloader_type='stat', interval=0.1, extra_files=['message.txt']")
    run.wait_for_body("from-file-1")
    write_module(project / "message.txt", "from-file-2")
    run.wait_for_body("from-file-2")
    run.wait_for_line(r"Detected change in '.*message\.txt'")


def test_an_excluded_module_does_not_trigger_a_reload(start, project: Path) -> None:
    (project / "ignored.py").write_text("X = 1\n", encoding="utf-8")
    run = start("reloader_type='stat', interval=0.1, exclude_patterns=['*/ignored.py']",
                imports="import ignored\nimport appmod")
    run.wait_for_body("v1")
    mark = len(run.lines)
    # Both edits land before any poll could separate them; ignored.py is watched
    # first if it is watched at all, so a broken filter would report it.
    write_module(project / "ignored.py", "X = 2\n")
    write_module(project / "appmod.py", 'MESSAGE = "v2"\n')
    run.wait_for_body("v2")
    assert "ignored.py" not in "\n".join(run.lines[mark:])
    run.wait_for_line(r"Detected change in '.*appmod\.py'", mark)


def test_sigterm_stops_the_child_and_the_watcher_exits_0(start, project: Path) -> None:
    run = start("reloader_type='stat', interval=0.1")
    child_pid = int(run.wait_for_body("v1").split("pid=")[1])
    assert run.stop() == 0
    assert not process_running(child_pid)


def test_sigint_stops_the_watcher_with_status_0(start, project: Path) -> None:
    run = start("reloader_type='stat', interval=0.1")
    run.wait_for_body("v1")
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(timeout=DEADLINE) == 0


def test_unknown_reloader_type_is_a_value_error_naming_the_valid_ones() -> None:
    def bind() -> socket.socket:
        raise AssertionError("nothing may be bound for a bad reloader_type")

    with pytest.raises(ValueError, match="'auto', 'stat', 'watchdog'"):
        run_with_reloader(lambda fd: None, bind, reloader_type="inotify")


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="reloader_interval"):
        ReloaderSettings.build(interval=0)


def test_a_single_extra_file_string_is_rejected_with_a_hint() -> None:
    with pytest.raises(TypeError, match="wrap it"):
        ReloaderSettings.build(extra_files="settings.cfg")


def test_auto_resolves_to_watchdog_when_it_is_installed() -> None:
    pytest.importorskip("watchdog")
    assert ReloaderSettings.build(reloader_type="auto").reloader_type == "watchdog"


# Through run_simple and treadle's server


@pytest.mark.parametrize("options", [
    "reloader_type='stat'",
    "reloader_type='watchdog', threaded=True",
])
def test_run_simple_serves_an_edit_after_the_reload(start, project: Path, options: str) -> None:
    run = start("", script=RUN_SIMPLE_SCRIPT.format(options=options), port_pattern=RUNNING_ON)
    run.wait_for_body("v1")
    write_module(project / "appmod.py", 'MESSAGE = "v2"\n')
    run.wait_for_body("v2")
    assert run.stop() == 0


def test_run_simple_with_processes_replaces_every_worker(start, project: Path) -> None:
    run = start("", script=RUN_SIMPLE_SCRIPT.format(options="processes=2"),
                port_pattern=RUNNING_ON)
    old_pids = {run.wait_for_body("v1").split("pid=")[1] for _ in range(4)}
    write_module(project / "appmod.py", 'MESSAGE = "v2"\n')
    run.wait_for_body("v2")
    bodies = [http_get(run.port) for _ in range(20)]
    assert all(body.startswith("v2") for body in bodies), bodies
    assert not [pid for pid in old_pids if process_running(int(pid))]
    assert run.stop() == 0


@pytest.mark.parametrize("reloader_type", ["stat", "watchdog"])
def test_fixing_a_lazily_imported_module_that_failed_reloads(
        start, project: Path, reloader_type: str) -> None:
    # The failed import never reaches sys.modules; it is watched as a .py beside appmod.
    (project / "lazy.py").write_text("VALUE = (\n", encoding="utf-8")
    write_module(project / "appmod.py", (
        "class _Message:\n"
        "    def __str__(self):\n"
        "        import lazy\n"
        "        return lazy.VALUE\n"
        "MESSAGE = _Message()\n"))
    script = RUN_SIMPLE_SCRIPT.format(options=f"reloader_type={reloader_type!r}")
    run = start("", script=script, port_pattern=RUNNING_ON)
    assert http_get_raw(run.port).startswith(b"HTTP/1.1 500")
    write_module(project / "lazy.py", 'VALUE = "fixed"\n')
    run.wait_for_body("fixed")


def test_run_simple_reloads_on_a_unix_socket_and_removes_it_at_exit(
        start, project: Path) -> None:
    # Unix socket paths are short (108 bytes): not under pytest's long tmp_path.
    directory = tempfile.mkdtemp(prefix="treadle-")
    path = os.path.join(directory, "s.sock")
    try:
        script = RUN_SIMPLE_SCRIPT.replace('"127.0.0.1", 0', repr("unix:" + path) + ", 0")
        run = start("", script=script.format(options="reloader_type='stat'"),
                    port_pattern=r"Running on unix:(\S+)")
        run.wait_for_body("v1")
        write_module(project / "appmod.py", 'MESSAGE = "v2"\n')
        run.wait_for_body("v2")
        assert run.stop() == 0
        assert not os.path.exists(path)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# Like `treadle run`: a child whose app fails to import serves the error instead.
ERROR_APP_SCRIPT = """\
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from treadle.serving import run_simple
from treadle.dev.reloader import is_running_from_reloader

try:
    import libmod
except Exception as exc:
    if not is_running_from_reloader():
        raise
    error = exc

    def app(environ, start_response):
        raise error
else:
    def app(environ, start_response):
        body = libmod.MESSAGE.encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

if __name__ == "__main__":
    run_simple("127.0.0.1", 0, app, use_reloader=True, reloader_interval=0.1, {options})
"""


@pytest.mark.parametrize("reloader_type", ["stat", "watchdog"])
def test_a_child_serving_an_import_error_reloads_when_the_module_is_fixed(
        start, project: Path, reloader_type: str) -> None:
    # lib/ holds no module the failing child imported: only what earlier
    # children watched can notice the fix.
    lib = project / "lib"
    lib.mkdir()
    (lib / "libmod.py").write_text('MESSAGE = "v1"\n', encoding="utf-8")
    script = ERROR_APP_SCRIPT.format(options=f"reloader_type={reloader_type!r}")
    run = start("", script=script, port_pattern=RUNNING_ON)
    run.wait_for_body("v1")
    write_module(lib / "libmod.py", "MESSAGE = (\n")
    deadline = time.monotonic() + DEADLINE
    while not http_get_raw(run.port).startswith(b"HTTP/1.1 500"):
        assert time.monotonic() < deadline, run.output
        time.sleep(0.02)  # polling a server, not synchronising with it
    write_module(lib / "libmod.py", 'MESSAGE = "v3"\n')
    run.wait_for_body("v3")


def test_run_simple_rejects_an_unknown_reloader_type_before_binding() -> None:
    from treadle.serving import run_simple

    with pytest.raises(ValueError, match="valid types are 'auto', 'stat', 'watchdog'"):
        run_simple("127.0.0.1", 0, lambda environ, start_response: [], use_reloader=True,
                   reloader_type="polling")


# Which files are watched


def test_standard_library_and_site_packages_are_not_watched() -> None:
    file_filter = FileFilter.for_this_process(())
    assert file_filter.is_library(os.__file__)
    assert file_filter.is_library(pytest.__file__)


def test_project_files_are_watched(tmp_path: Path) -> None:
    assert FileFilter.for_this_process(()).wants(str(tmp_path / "app.py"))


def test_exclude_patterns_match_the_absolute_path(tmp_path: Path) -> None:
    file_filter = FileFilter.for_this_process(("*/migrations/*",))
    assert not file_filter.wants(str(tmp_path / "migrations" / "0001.py"))
    assert file_filter.wants(str(tmp_path / "models.py"))


def test_a_script_inside_a_library_root_is_still_watched(tmp_path: Path) -> None:
    root = os.path.join(str(tmp_path), "venv", "")
    file_filter = FileFilter((root,), (os.path.join(root, "myscripts", ""),), ())
    assert file_filter.wants(os.path.join(root, "myscripts", "serve.py"))
    assert not file_filter.wants(os.path.join(root, "lib", "dep.py"))


def test_a_compiled_module_maps_to_its_source(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("", encoding="utf-8")
    module = type(sys)("mod")
    module.__file__ = str(tmp_path / "__pycache__" / "mod.cpython-311.pyc")
    assert module_source(module) == str(source)


def test_the_scanner_reports_only_newly_imported_modules(tmp_path: Path) -> None:
    first, second = type(sys)("first"), type(sys)("second")
    for module in (first, second):
        path = tmp_path / f"{module.__name__}.py"
        path.write_text("", encoding="utf-8")
        module.__file__ = str(path)
    scanner = ModuleScanner(FileFilter.for_this_process(()))
    assert scanner.scan({"first": first}) == [str(tmp_path / "first.py")]
    assert scanner.scan({"first": first, "second": second}) == [str(tmp_path / "second.py")]


# The stat detector


def test_stat_detector_reports_an_edit_made_after_the_baseline(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("1", encoding="utf-8")
    baseline = {str(path): stamp(str(path))}
    write_module(path, "2")
    detector = StatDetector(FileFilter.for_this_process(()), baseline)
    detector.watch([str(path)])
    assert detector.poll() == str(path)


def test_stat_detector_ignores_a_deleted_file(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("1", encoding="utf-8")
    detector = StatDetector(FileFilter.for_this_process(()), {})
    detector.watch([str(path)])
    path.unlink()
    assert detector.poll() is None


def test_stat_detector_reports_a_new_module_beside_a_watched_one(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("1", encoding="utf-8")
    detector = StatDetector(FileFilter.for_this_process(()), {})
    detector.watch([str(path)])
    (tmp_path / "b.py").write_text("", encoding="utf-8")
    (tmp_path / ".#a.py").write_text("", encoding="utf-8")
    assert detector.poll() == str(tmp_path / "b.py")


def test_stat_detector_reports_an_edit_to_a_module_beside_a_watched_one(tmp_path: Path) -> None:
    watched, beside = tmp_path / "a.py", tmp_path / "b.py"
    for path in (watched, beside):
        path.write_text("1", encoding="utf-8")
    baseline = {str(p): stamp(str(p)) for p in (watched, beside)}
    detector = StatDetector(FileFilter.for_this_process(()), baseline)
    detector.watch([str(watched)])
    assert detector.poll() is None
    write_module(beside, "2")
    assert detector.poll() == str(beside)


def test_stat_detector_ignores_non_python_files_beside_a_watched_one(tmp_path: Path) -> None:
    watched = tmp_path / "a.py"
    watched.write_text("1", encoding="utf-8")
    detector = StatDetector(FileFilter.for_this_process(()), {})
    detector.watch([str(watched)])
    (tmp_path / "notes.txt").write_text("", encoding="utf-8")
    assert detector.poll() is None


# The watchdog detector


def test_watchdog_detector_reports_an_edit_through_its_fd(tmp_path: Path) -> None:
    pytest.importorskip("watchdog")
    import select

    from treadle.dev.reloader.native import WatchdogDetector

    path = tmp_path / "a.py"
    path.write_text("1", encoding="utf-8")
    detector = WatchdogDetector(FileFilter.for_this_process(()), {str(path): stamp(str(path))})
    try:
        detector.watch([str(path)])
        assert detector.poll() is None
        write_module(path, "2")
        readable, _, _ = select.select([detector.fileno()], [], [], DEADLINE)
        assert readable
        assert detector.poll() == str(path)
    finally:
        detector.close()


# The channel


def test_stamps_survive_the_channel_encoding() -> None:
    stamps = {"/p/a.py": (123, 4), "/p/odd:name.py": (5, 6), "/p/gone.py": None}
    records = RecordReader().feed(encode_stamps(stamps))
    assert records[-1] == b""
    assert dict(parse_stamp(r) for r in records[:-1]) == stamps


def test_record_reader_keeps_a_partial_record_for_the_next_read() -> None:
    data = encode_paths(["/a.py", "/b.py"])
    reader = RecordReader()
    assert reader.feed(data[:4]) == []
    assert reader.feed(data[4:]) == [b"/a.py", b"/b.py"]


# How the child is started


def _args_for_reloading_via(tmp_path: Path, *command: str) -> list[str]:
    code = ("import json, sys\n"
            "from treadle.dev.reloader.watcher import args_for_reloading\n"
            "print(json.dumps(args_for_reloading()))\n")
    (tmp_path / "show_args.py").write_text(code, encoding="utf-8")
    pkg = tmp_path / "showpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "__main__.py").write_text(code, encoding="utf-8")
    out = subprocess.run([sys.executable, *command], cwd=tmp_path, capture_output=True,
                         timeout=DEADLINE, check=True).stdout
    import json

    return list(json.loads(out))


def test_a_script_is_restarted_by_absolute_path_with_its_options(tmp_path: Path) -> None:
    args = _args_for_reloading_via(tmp_path, "-X", "dev", "show_args.py", "--flag")
    assert args == [sys.executable, "-X", "dev", str(tmp_path / "show_args.py"), "--flag"]


def test_a_module_run_with_dash_m_is_restarted_with_dash_m(tmp_path: Path) -> None:
    args = _args_for_reloading_via(tmp_path, "-m", "showpkg", "arg")
    assert args == [sys.executable, "-m", "showpkg", "arg"]
