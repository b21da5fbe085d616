"""Idle keep-alive connections: what 5,000 of them cost treadle's threaded server.

    python bench/idle_rss.py [--idle 5000] [--duration 10] [--server-arg ...]

Starts `python -m treadle.serving --threaded` on the hello app (servers.py),
measures its rate under the hello scenario's wrk load (50 connections), then
opens --idle keep-alive connections that each send one request and stay idle,
and measures again with them held. Reports the serving process's RSS
(/proc/<pid>/status VmRSS) and thread count at each step, and checks at the end
that the idle connections are still open and answer. Targets: RSS under
100 MB with the idle connections, and at least 80% of the rate without them.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import socket
import sys
import time
from collections.abc import Iterator
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/idle_rss.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=5000, help="idle connections (5000)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (10)")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="an extra argument for treadle.serving (repeatable)")
    args = parser.parse_args(argv)
    raise_nofile(args.idle + 1024)
    loadgen.wrk_binary()

    port = servers.free_port()
    argv_ = [sys.executable, "-m", "treadle.serving", "--host", servers.HOST, "--port", str(port),
             "--log-level", "warning", "--threaded",
             # Room for every idle connection plus wrk's, and no idle timeout during the run.
             "--max-connections", str(args.idle + 1000), "--keepalive-timeout", "3600",
             *args.server_arg, "apps:hello"]
    server = servers.start_server(argv_, port=port, cwd=BENCH_DIR, env=server_env(),
                                  log_path=OUT_DIR / "logs" / "idle-rss-treadle-threaded.log")
    pid = server.process.pid
    rows: list[tuple[str, Sample, float | None]] = []
    try:
        rows.append(("started", sample(pid), None))
        plain = wrk_rate(port, args.duration)
        rows.append(("after wrk, no idle connections", sample(pid), plain.requests_per_s))
        started = time.monotonic()
        with idle_connections(port, args.idle) as held:
            opened_s = time.monotonic() - started
            rows.append((f"{args.idle} idle connections open", sample(pid), None))
            loaded = wrk_rate(port, args.duration)
            rows.append((f"after wrk, {args.idle} idle held", sample(pid), loaded.requests_per_s))
            for sock in held[:: max(1, len(held) // 100)]:  # still open, still served
                sock.sendall(REQUEST)
                read_response(sock)
    finally:
        servers.stop_server(server)

    print(f"treadle --threaded, hello app, wrk -c{HELLO_CONNECTIONS} for {args.duration:.0f} s; "
          f"{args.idle} idle keep-alive connections opened in {opened_s:.1f} s\n")
    print(f"| {'step':<36} | {'RSS MiB':>8} | {'threads':>7} | {'req/s':>9} |")
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 9}|{'-' * 11}|")
    for name, s, rate in rows:
        shown = f"{rate:,.0f}" if rate is not None else ""
        print(f"| {name:<36} | {s.rss_mib:>8.1f} | {s.threads:>7} | {shown:>9} |")
    ratio = loaded.requests_per_s / plain.requests_per_s
    peak = max(s.rss_mib for _, s, _ in rows)
    errors = plain.socket_errors + loaded.socket_errors + plain.non_2xx + loaded.non_2xx
    print(f"\nrate with idle connections: {ratio:.0%} of without "
          f"(target >= {TARGETS['rate_ratio']:.0%}); peak RSS {peak:.1f} MiB "
          f"(target < {TARGETS['rss_mib']:.0f}); wrk errors {errors}")
    met = ratio >= TARGETS["rate_ratio"] and peak < TARGETS["rss_mib"] and errors == 0
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
