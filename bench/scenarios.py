"""What is measured and against whom: the scenario table and the server table.

Adding a scenario or a peer is adding one entry here; run.py only walks the
tables. Every concurrency setting that shapes a result is stated in its entry.
"""

from __future__ import annotations

from dataclasses import dataclass

# A server's argv is a template: these names are filled in per run.
PLACEHOLDERS = ("{python}", "{host}", "{port}", "{app}")


@dataclass(frozen=True)
class WrkScenario:
    """A load test: every server serves `app` and gets the same wrk run."""

    title: str
    app: str                      # module:callable in bench/
    connections: int
    treadle_app: str = ""         # what treadle serves instead of `app`, when they differ
    headers: tuple[str, ...] = ()
    ideal_rps: float | None = None  # the ceiling, when the handler's own time sets one
    note: str = ""


@dataclass(frozen=True)
class PythonScenario:
    """An in-process micro-benchmark: `module.main()` returns a dict of figures."""

    title: str
    module: str                   # a module in bench/
    timeout_s: float = 180.0
    expected_s: float = 20.0
    note: str = ""


@dataclass(frozen=True)
class MemoryScenario:
    """Idle footprint: each server serves `app`, answers a few requests, then is measured."""

    title: str
    app: str
    requests: int = 50            # sequential warm-up requests, each on a new connection
    settle_s: float = 1.0         # pause after them, so lazy allocations have happened
    note: str = ""


Scenario = WrkScenario | PythonScenario | MemoryScenario

SCENARIOS: dict[str, Scenario] = {
    "hello": WrkScenario(
        title="Plain WSGI hello, 50 keep-alive connections",
        app="apps:hello",
        connections=50,
    ),
    "hello-close": WrkScenario(
        title="Plain WSGI hello, Connection: close (a new connection per request)",
        app="apps:hello",
        connections=50,
        headers=("Connection: close",),
    ),
    "sleep": WrkScenario(
        title="I/O-bound handler (sleeps 20 ms), 100 connections",
        app="apps:sleep",
        connections=100,
        ideal_rps=100 / 0.020,
        note="Ideal is 100 connections / 20 ms = 5,000 req/s; a server reaches it only "
             "with 100 or more requests in flight, so the pool sizes below decide.",
    ),
    "framework": WrkScenario(
        title="Framework hello (Flask on the peers, treadle's app on treadle), 50 keep-alive",
        app="flask_app:app",
        treadle_app="treadle_app:app",
        connections=50,
        note="The whole stack: routing, request context and response object on every request.",
    ),
    "proxy": PythonScenario(
        title="LocalProxy micro-benchmark (in-process)",
        module="proxy_bench",
        note="ns per attribute read through each proxy, and its ratio to the direct read "
             "it stands for (lower is better).",
    ),
    "routing": PythonScenario(
        title="URL routing micro-benchmark (in-process)",
        module="routing_bench",
        note="µs per adapter.match() of the last-added rule (lower is better); flat across "
             "rule counts means matching does not scan the rules.",
    ),
    "idle-memory": MemoryScenario(
        title="Idle memory after 50 requests, whole process group",
        app="apps:hello",
        note="PSS shares each page among the processes mapping it, so pre-forked workers "
             "are not charged twice for what they share; RSS counts every process in full.",
    ),
}


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server on a host and port with an app."""

    title: str
    argv: tuple[str, ...]
    concurrency: str              # what bounds requests in flight, stated in the results
    treadle: bool = False

    def command(self, *, python: str, host: str, port: int, app: str) -> list[str]:
        values = {"{python}": python, "{host}": host, "{port}": str(port), "{app}": app}
        argv = []
        for arg in self.argv:
            for placeholder, value in values.items():
                arg = arg.replace(placeholder, value)
            argv.append(arg)
        return argv


SERVERS: dict[str, ServerSpec] = {
    "werkzeug": ServerSpec(
        title="Werkzeug run_simple",
        argv=("{python}", "werkzeug_serve.py", "--host", "{host}", "--port", "{port}", "{app}"),
        concurrency="1 request at a time (single-threaded, HTTP/1.0: closes every connection)",
    ),
    "werkzeug-threaded": ServerSpec(
        title="Werkzeug run_simple threaded=True",
        argv=("{python}", "werkzeug_serve.py", "--threaded", "--host", "{host}",
              "--port", "{port}", "{app}"),
        concurrency="a new thread per connection, unbounded",
    ),
    "gunicorn-sync": ServerSpec(
        title="gunicorn sync -w 2",
        argv=("{python}", "-m", "gunicorn", "--worker-class", "sync", "--workers", "2",
              "--bind", "{host}:{port}", "{app}"),
        concurrency="2 processes x 1 request (sync workers close every connection)",
    ),
    "gunicorn-gthread": ServerSpec(
        title="gunicorn gthread -w 2 --threads 8",
        argv=("{python}", "-m", "gunicorn", "--worker-class", "gthread", "--workers", "2",
              "--threads", "8", "--bind", "{host}:{port}", "{app}"),
        concurrency="2 processes x 8 threads = 16 requests",
    ),
    "waitress": ServerSpec(
        title="waitress --threads 4 (its default)",
        argv=("{python}", "-m", "waitress", "--host", "{host}", "--port", "{port}",
              "--threads", "4", "{app}"),
        concurrency="1 process x 4 threads = 4 requests",
    ),
    "granian": ServerSpec(
        title="granian --interface wsgi --workers 2",
        argv=("{python}", "-m", "granian", "--interface", "wsgi", "--workers", "2",
              "--host", "{host}", "--port", "{port}", "{app}"),
        concurrency="2 processes x 256 blocking threads (its WSGI default: backpressure / 2)",
    ),
    # --log-level warning turns treadle's access log off, as it is off for every peer.
    "treadle-threaded": ServerSpec(
        title="treadle --threaded (default pool)",
        argv=("{python}", "-m", "treadle.serving", "--host", "{host}", "--port", "{port}",
              "--log-level", "warning", "--threaded", "{app}"),
        concurrency="1 process x 32 threads (the default pool) = 32 requests; idle "
                    "keep-alive connections hold no thread",
        treadle=True,
    ),
    "treadle-processes": ServerSpec(
        title="treadle --processes 2",
        argv=("{python}", "-m", "treadle.serving", "--host", "{host}", "--port", "{port}",
              "--log-level", "warning", "--processes", "2", "{app}"),
        concurrency="2 processes x 1 request (single-threaded workers, as processes=2 gives)",
        treadle=True,
    ),
    "treadle-processes-threads": ServerSpec(
        title="treadle --processes 2 --threads 8",
        argv=("{python}", "-m", "treadle.serving", "--host", "{host}", "--port", "{port}",
              "--log-level", "warning", "--processes", "2", "--threads", "8", "{app}"),
        concurrency="2 processes x 8 threads = 16 requests (the shape of gunicorn gthread above)",
        treadle=True,
    ),
}
