"""What is measured and against whom: the scenario table and the server table.

Adding a scenario or a peer is adding one entry here; run.py only walks the
tables. Every concurrency setting that shapes a result is stated in its entry,
and which servers meet in a scenario is decided here (`servers_for`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from treadle.server.config import ServerConfig

# A server's argv is a template: these names are filled in per run.
PLACEHOLDERS = ("{python}", "{host}", "{port}", "{app}")
# treadle's default pool, read from its settings table so the servers table never goes stale.
TREADLE_THREADS = ServerConfig().threads


@dataclass(frozen=True)
class Target:
    """A ratio treadle's variants aim for: treadle's req/s >= `ratio` x the peer's."""

    peer: str                     # a name in SERVERS
    ratio: float


@dataclass(frozen=True)
class WrkScenario:
    """A load test: every server serves `app` and gets the same wrk run on `path`."""

    title: str
    app: str                      # module:callable in bench/
    connections: int
    treadle_app: str = ""         # what treadle serves instead of `app`, when they differ
    path: str = "/"
    headers: tuple[str, ...] = ()
    ideal_rps: float | None = None  # the ceiling, when the handler's own time sets one
    # A path of the same app measured first, at the same connections, as the rate the
    # CPU allows this server: the ceiling when the ideal is beyond the machine.
    reference_path: str = ""
    servers: tuple[str, ...] = ()   # who meets here; empty: every general server
    targets: tuple[Target, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class PythonScenario:
    """A benchmark in a child process: `module.<function>()` returns a dict of figures."""

    title: str
    module: str                   # a module in bench/
    function: str = "main"
    quick_args: tuple[tuple[str, object], ...] = ()  # keyword arguments under --quick
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

# The framework scenarios compare the same app on Flask and on treadle, on these servers.
FRAMEWORK_SERVERS = ("werkzeug-threaded", "gunicorn-gthread", "granian", "treadle-threaded",
                     "treadle-processes", "treadle-processes-threads")
FRAMEWORK_TARGETS = (Target("granian", 2.0), Target("werkzeug-threaded", 5.0))
FRAMEWORK_NOTE = ("The whole stack: routing, request context and response object on every "
                  "request. Peers serve bench/flask_app.py, treadle serves bench/treadle_app.py.")

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
    "sleep-1000": WrkScenario(
        title="I/O-bound handler (sleeps 20 ms), 1,000 connections",
        app="apps:sleep",
        connections=1000,
        ideal_rps=1000 / 0.020,
        reference_path="/hello",
        note="Ideal is 1,000 connections / 20 ms = 50,000 req/s, beyond what the CPU allows: "
             "so each server's hello rate at the same 1,000 connections (the same app's "
             "/hello, which does not sleep) is measured first and shown beside it.",
    ),
    "framework-text": WrkScenario(
        title="Framework, text route (`/` returns a string), 50 keep-alive connections",
        app="flask_app:app",
        treadle_app="treadle_app:app",
        connections=50,
        servers=FRAMEWORK_SERVERS,
        targets=FRAMEWORK_TARGETS,
        note=FRAMEWORK_NOTE,
    ),
    "framework-json": WrkScenario(
        title="Framework, JSON route (`/users/<int:user_id>` returns a dict), 50 keep-alive",
        app="flask_app:app",
        treadle_app="treadle_app:app",
        path="/users/42",
        connections=50,
        servers=FRAMEWORK_SERVERS,
        targets=FRAMEWORK_TARGETS,
        note=FRAMEWORK_NOTE,
    ),
    "framework-template": WrkScenario(
        title="Framework, template route (`/page` renders a 10-item Jinja list), 50 keep-alive",
        app="flask_app:app",
        treadle_app="treadle_app:app",
        path="/page",
        connections=50,
        servers=FRAMEWORK_SERVERS,
        targets=FRAMEWORK_TARGETS,
        note=FRAMEWORK_NOTE,
    ),
    "idle-5000": PythonScenario(
        title="5,000 idle keep-alive connections on treadle --threaded (bench/idle_rss.py)",
        module="idle_rss",
        function="figures",
        quick_args=(("duration", 3.0),),
        timeout_s=240.0,
        expected_s=35.0,
        note="RSS and threads of the serving process, and its hello rate (wrk -c50) without "
             "and with the idle connections held. Targets: RSS under 100 MiB, rate with them "
             "at least 80% of without.",
    ),
    "idle-memory": MemoryScenario(
        title="Idle memory after 50 requests, whole process group",
        app="apps:hello",
        note="PSS shares each page among the processes mapping it, so pre-forked workers "
             "are not charged twice for what they share; RSS counts every process in full.",
    ),
    "proxy": PythonScenario(
        title="LocalProxy micro-benchmark (in-process)",
        module="proxy_bench",
        expected_s=5.0,
        note="ns per attribute read through each proxy, and its ratio to the direct read "
             "it stands for (lower is better).",
    ),
    "routing": PythonScenario(
        title="URL routing micro-benchmark (in-process)",
        module="routing_bench",
        expected_s=5.0,
        note="µs per adapter.match() of the last-added rule (lower is better); flat across "
             "rule counts means matching does not scan the rules.",
    ),
    "import": PythonScenario(
        title="Import time in a fresh interpreter (bench/import_bench.py)",
        module="import_bench",
        quick_args=(("rounds", 3),),
        timeout_s=120.0,
        expected_s=5.0,
        note="Median milliseconds of `import <package>` alone, interpreter start-up left out "
             "(lower is better).",
    ),
    "reload": PythonScenario(
        title="Reloader: from a source edit to the new code served (bench/reload_bench.py)",
        module="reload_bench",
        quick_args=(("edits", 3),),
        timeout_s=180.0,
        expected_s=10.0,
        note="run_simple(use_reloader=True, reloader_interval=0.1) with each reloader type; "
             "median over the edits of the time until a GET returns the edited text, and "
             "until the watcher logs the change (lower is better).",
    ),
}

# Names that select several scenarios at once on the command line.
GROUPS: dict[str, tuple[str, ...]] = {
    "framework": ("framework-text", "framework-json", "framework-template"),
    "sleeps": ("sleep", "sleep-1000"),
}


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server on a host and port with an app."""

    title: str
    argv: tuple[str, ...]
    concurrency: str              # what bounds requests in flight, stated in the results
    treadle: bool = False
    scenarios: tuple[str, ...] = ()  # where this variant is meaningful; empty: everywhere

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
        concurrency=f"1 process x {TREADLE_THREADS} threads (the default pool) = "
                    f"{TREADLE_THREADS} requests; idle keep-alive connections hold no thread",
        treadle=True,
    ),
    "treadle-processes-128": ServerSpec(
        title="treadle --processes 2 --threads 128",
        argv=("{python}", "-m", "treadle.serving", "--host", "{host}", "--port", "{port}",
              "--log-level", "warning", "--processes", "2", "--threads", "128", "{app}"),
        concurrency="2 processes x 128 threads = 256 requests (granian's shape: two workers, "
                    "many threads); run in the sleep scenarios only, where requests in flight, "
                    "not the CPU, set the rate",
        treadle=True,
        scenarios=("sleep", "sleep-1000"),
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


def expand_scenarios(names: Iterable[str]) -> list[str]:
    """Scenario names with groups replaced by their members, in order, each once."""
    expanded: list[str] = []
    for name in names:
        for member in GROUPS.get(name, (name,)):
            if member not in SCENARIOS:
                raise KeyError(f"unknown scenario {member!r}; known: {', '.join(SCENARIOS)}")
            if member not in expanded:
                expanded.append(member)
    return expanded


def servers_for(scenario_name: str, chosen: Iterable[str]) -> list[str]:
    """The chosen servers that take part in a scenario, in the order chosen.

    A load or memory scenario with a `servers` list admits only those; a server
    with a `scenarios` list runs only there. Python scenarios start no server.
    """
    scenario = SCENARIOS[scenario_name]
    if isinstance(scenario, PythonScenario):
        return []
    admitted = scenario.servers if isinstance(scenario, WrkScenario) else ()
    return [name for name in chosen
            if (not admitted or name in admitted)
            and (not SERVERS[name].scenarios or scenario_name in SERVERS[name].scenarios)]
