"""Reloader latency: from saving an edited module to the new code being served.

    python bench/reload_bench.py [edits]

For each reloader type a temporary project serves `appmod.MESSAGE` through
`run_simple(use_reloader=True, reloader_interval=0.1)`. Each edit rewrites the
message at a random moment, then GETs poll (every 2 ms) until the new text comes
back. Figures are the median, min and max over the edits of that time, and the
median time until the watcher logs the change; `main()` returns them for run.py.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

RELOADER_TYPES = ("watchdog", "stat")
INTERVAL_S = 0.1
DEADLINE_S = 15.0     # for any one awaited event: start-up, a reload, a stop
POLL_S = 0.002        # between two GETs that still see the old text
# Edits land at a random moment of the watcher's cycle, as a developer's do, not in step with it.
EDIT_SPREAD_S = 0.25

SERVE_SCRIPT = """\
from treadle.serving import run_simple
import appmod

def app(environ, start_response):
    body = appmod.MESSAGE.encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]

if __name__ == "__main__":
    run_simple("127.0.0.1", 0, app, use_reloader=True, reloader_type={reloader_type!r},
               reloader_interval={interval!r})
"""
RUNNING_ON = re.compile(r"Running on http://127\.0\.0\.1:(\d+)")
DETECTED = re.compile(r"Detected change in .*appmod\.py")
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


class BenchError(RuntimeError):
    """The reloader did not do what the benchmark waits for; carries its output."""


def write_message(path: Path, message: str) -> None:
    """Rewrite the module, its mtime pushed 2 s past the last one.

    Python trusts a cached .pyc whose source mtime (in whole seconds) and size match,
    and every message here has the same size: without the push, two edits within
    a second would serve the old bytecode.
    """
    before = path.stat().st_mtime_ns if path.exists() else time.time_ns()
    path.write_text(f"MESSAGE = {message!r}\n", encoding="utf-8")
    pushed = max(before, path.stat().st_mtime_ns) + 2_000_000_000
    os.utime(path, ns=(pushed, pushed))


def get_body(port: int) -> bytes:
    """One GET / on a new connection; the body, or b"" when the connection was cut."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) as sock:
        sock.sendall(REQUEST)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    return data.partition(b"\r\n\r\n")[2]


class Watcher:
    """The reloader's watcher process, with each output line stamped on arrival."""

    def __init__(self, project: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TREADLE_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "serve.py"], cwd=project, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.lines: list[tuple[float, str]] = []
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._arrived:
                self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip()))
                self._arrived.notify_all()
        with self._arrived:
            self._arrived.notify_all()

    def output(self) -> str:
        with self._arrived:
            return "\n".join(line for _, line in self.lines)[-2000:]

    def wait_for(self, pattern: re.Pattern[str], start: int = 0) -> tuple[float, re.Match[str]]:
        """When the first line from index `start` on matching `pattern` arrived, and the match."""
        deadline = time.monotonic() + DEADLINE_S
        with self._arrived:
            while True:
                for stamp, line in self.lines[start:]:
                    if match := pattern.search(line):
                        return stamp, match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._reader.is_alive():
                    raise BenchError(f"no line matching {pattern.pattern!r} within "
                                     f"{DEADLINE_S:.0f} s; output:\n{self.output()}")
                self._arrived.wait(remaining)

    def stop(self) -> None:
        """SIGTERM the watcher, then SIGKILL whatever is left of its process group."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(DEADLINE_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(DEADLINE_S)
        self._reader.join(DEADLINE_S)


def serves(port: int, message: str, since: float, watcher: Watcher) -> float:
    """Seconds from `since` until GET / returns `message`; polls, as a developer's browser would."""
    wanted = message.encode()
    deadline = since + DEADLINE_S
    while time.monotonic() < deadline:
        with contextlib.suppress(ConnectionError):  # a request cut by the child's restart
            if get_body(port) == wanted:
                return time.monotonic() - since
        time.sleep(POLL_S)  # polling a server, not synchronising with it
    raise BenchError(f"{message!r} not served within {DEADLINE_S:.0f} s of the edit; "
                     f"output:\n{watcher.output()}")


def time_edits(reloader_type: str, edits: int) -> dict[str, float]:
    """Serve a fresh project with one reloader type; time `edits` edits; milliseconds."""
    with tempfile.TemporaryDirectory(prefix="reload_bench_") as tmp:
        project = Path(tmp)
        module = project / "appmod.py"
        write_message(module, "v0")
        (project / "serve.py").write_text(
            SERVE_SCRIPT.format(reloader_type=reloader_type, interval=INTERVAL_S),
            encoding="utf-8")
        watcher = Watcher(project)
        try:
            port = int(watcher.wait_for(RUNNING_ON)[1].group(1))
            serves(port, "v0", time.monotonic(), watcher)
            served, detected = [], []
            spread = random.Random(edits)
            for n in range(1, edits + 1):
                time.sleep(spread.uniform(0, EDIT_SPREAD_S))  # the phase, not a wait for anything
                mark = len(watcher.lines)
                edited = time.monotonic()
                write_message(module, f"v{n}")
                served.append(serves(port, f"v{n}", edited, watcher))
                detected.append(watcher.wait_for(DETECTED, mark)[0] - edited)
        finally:
            watcher.stop()
    return {
        "served_median_ms": round(1000 * statistics.median(served), 1),
        "served_min_ms": round(1000 * min(served), 1),
        "served_max_ms": round(1000 * max(served), 1),
        "detected_median_ms": round(1000 * statistics.median(detected), 1),
    }


def main(edits: int = 5) -> dict[str, object]:
    """Per reloader type, how long an edit takes to be detected and to be served."""
    if edits < 1:
        raise ValueError(f"edits must be at least 1, got {edits}")
    figures: dict[str, object] = {"edits": edits, "interval_s": INTERVAL_S}
    for reloader_type in RELOADER_TYPES:
        figures[reloader_type] = time_edits(reloader_type, edits)
    return figures


if __name__ == "__main__":
    for name, value in main(int(sys.argv[1]) if len(sys.argv) > 1 else 5).items():
        print(f"{name:10} {value}")
