"""Idle keep-alive connections: what 5,000 of them cost treadle's threaded server.

    python bench/idle_rss.py [--idle 5000] [--duration 10] [--server-arg ...]

Starts `python -m treadle.serving --threaded` on the hello app (servers.py),
measures its rate under the hello scenario's wrk load (50 connections), then
opens --idle keep-alive connections that each send one request and stay idle,
and measures again with them held. Reports the serving process's RSS
(/proc/<pid>/status VmRSS) and thread count at each step, and checks at the end
that the idle connections are still open and answer. Targets: RSS under
100 MB with the idle connections, and at least 80% of the rate without them.
`figures()` returns the same numbers for bench/run.py's idle-5000 scenario.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import loadgen
import servers
from run import BENCH_DIR, OUT_DIR, server_env

TARGETS = {"rss_mib": 100.0, "rate_ratio": 0.80}
HELLO_CONNECTIONS = 50  # the hello scenario's wrk connections
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


@dataclass(frozen=True)
class Sample:
    """The serving process at one moment."""

    rss_mib: float
    threads: int


def sample(pid: int) -> Sample:
    """VmRSS and Threads from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return Sample(int(fields["VmRSS"][0]) / 1024, int(fields["Threads"][0]))


def raise_nofile(needed: int) -> None:
    """This process holds every idle connection: lift its open-file limit or say why not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"need {needed} open files, the hard limit is {hard}; "
                             "raise it (ulimit -Hn, or LimitNOFILE= under systemd)")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def read_response(sock: socket.socket) -> bytes:
    """One whole hello response (the bench apps send Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the server closed an idle connection")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b"\r\n", 1)[0]


@contextlib.contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that each made one keep-alive request and now wait."""
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((servers.HOST, port), timeout=10)
            sock.sendall(REQUEST)
            status = read_response(sock)
            if not status.endswith(b" 200 OK"):
                raise ConnectionError(f"unexpected answer {status!r}")
            held.append(sock)
        yield held
    finally:
        for sock in held:
            sock.close()


def wrk_rate(port: int, duration: float) -> loadgen.WrkReport:
    url = f"http://{servers.HOST}:{port}/"
    loadgen.run_wrk(url, connections=HELLO_CONNECTIONS, duration_s=1)  # warm-up
    return loadgen.run_wrk(url, connections=HELLO_CONNECTIONS, duration_s=duration)


@dataclass(frozen=True)
class Measurement:
    """One idle-connections run: a sample per step, and the two wrk reports."""

    idle: int
    duration: float
    opened_s: float
    steps: list[tuple[str, Sample, float | None]]
    plain: loadgen.WrkReport
    loaded: loadgen.WrkReport

    @property
    def rate_ratio(self) -> float:
        return self.loaded.requests_per_s / self.plain.requests_per_s

    @property
    def peak_rss_mib(self) -> float:
        return max(s.rss_mib for _, s, _ in self.steps)

    @property
    def wrk_errors(self) -> int:
        return (self.plain.socket_errors + self.loaded.socket_errors + self.plain.non_2xx
                + self.loaded.non_2xx)

    @property
    def targets_met(self) -> bool:
        return (self.rate_ratio >= TARGETS["rate_ratio"]
                and self.peak_rss_mib < TARGETS["rss_mib"] and self.wrk_errors == 0)


def measure(idle: int, duration: float, server_args: Sequence[str] = ()) -> Measurement:
    """Serve hello on treadle --threaded, load it without and with `idle` idle connections."""
    raise_nofile(idle + 1024)
    loadgen.wrk_binary()
    port = servers.free_port()
    argv = [sys.executable, "-m", "treadle.serving", "--host", servers.HOST, "--port", str(port),
            "--log-level", "warning", "--threaded",
            # Room for every idle connection plus wrk's, and no idle timeout during the run.
            "--max-connections", str(idle + 1000), "--keepalive-timeout", "3600",
            *server_args, "apps:hello"]
    server = servers.start_server(argv, port=port, cwd=BENCH_DIR, env=server_env(),
                                  log_path=OUT_DIR / "logs" / "idle-rss-treadle-threaded.log")
    pid = server.process.pid
    steps: list[tuple[str, Sample, float | None]] = []
    try:
        steps.append(("started", sample(pid), None))
        plain = wrk_rate(port, duration)
        steps.append(("after wrk, no idle connections", sample(pid), plain.requests_per_s))
        started = time.monotonic()
        with idle_connections(port, idle) as held:
            opened_s = time.monotonic() - started
            steps.append((f"{idle} idle connections open", sample(pid), None))
            loaded = wrk_rate(port, duration)
            steps.append((f"after wrk, {idle} idle held", sample(pid), loaded.requests_per_s))
            for sock in held[:: max(1, len(held) // 100)]:  # still open, still served
                sock.sendall(REQUEST)
                read_response(sock)
    finally:
        servers.stop_server(server)
    return Measurement(idle, duration, opened_s, steps, plain, loaded)


def figures(idle: int = 5000, duration: float = 10.0) -> dict[str, object]:
    """The measurement as nested figures, for bench/run.py's idle-5000 scenario."""
    m = measure(idle, duration)
    labels = ("started", "after_wrk", "idle_open", "idle_after_wrk")
    return {
        "idle_connections": idle,
        "opened_s": round(m.opened_s, 2),
        "rss_mib": {label: round(s.rss_mib, 1) for label, (_, s, _) in zip(labels, m.steps,
                                                                            strict=True)},
        "threads": {label: s.threads for label, (_, s, _) in zip(labels, m.steps, strict=True)},
        "hello_rps": {"without_idle": round(m.plain.requests_per_s),
                      "with_idle": round(m.loaded.requests_per_s)},
        "rate_with_idle_pct": round(100 * m.rate_ratio, 1),
        "wrk_errors": m.wrk_errors,
        "targets_met": m.targets_met,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/idle_rss.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=5000, help="idle connections (5000)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (10)")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="an extra argument for treadle.serving (repeatable)")
    args = parser.parse_args(argv)
    m = measure(args.idle, args.duration, args.server_arg)

    print(f"treadle --threaded, hello app, wrk -c{HELLO_CONNECTIONS} for {m.duration:.0f} s; "
          f"{m.idle} idle keep-alive connections opened in {m.opened_s:.1f} s\n")
    print(f"| {'step':<36} | {'RSS MiB':>8} | {'threads':>7} | {'req/s':>9} |")
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 9}|{'-' * 11}|")
    for name, s, rate in m.steps:
        shown = f"{rate:,.0f}" if rate is not None else ""
        print(f"| {name:<36} | {s.rss_mib:>8.1f} | {s.threads:>7} | {shown:>9} |")
    print(f"\nrate with idle connections: {m.rate_ratio:.0%} of without "
          f"(target >= {TARGETS['rate_ratio']:.0%}); peak RSS {m.peak_rss_mib:.1f} MiB "
          f"(target < {TARGETS['rss_mib']:.0f}); wrk errors {m.wrk_errors}")
    print("targets met" if m.targets_met else "TARGETS MISSED")
    return 0 if m.targets_met else 1


if __name__ == "__main__":
    sys.exit(main())
