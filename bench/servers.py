"""Start a server as its own process group, wait until it answers, and stop it.

Every step has a deadline: a server that never answers, or ignores SIGTERM,
costs a bounded time and then its whole process group is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"

# One table of deadlines for a server's life in the benchmark.
DEADLINES_S = {
    "ready": 20.0,     # from spawn until it answers an HTTP request
    "probe": 2.0,      # one readiness attempt (connect + request + status line)
    "poll": 0.05,      # pause between readiness attempts
    "term": 5.0,       # from SIGTERM until SIGKILL
    "kill": 5.0,       # from SIGKILL until we give up waiting
}

_PROBE = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


class ServerError(RuntimeError):
    """A server would not start or answer; the message carries its log tail."""


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def answers_http(port: int, timeout_s: float) -> bool:
    """True once the server returns a status line: it accepted and served a request."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s) as sock:
            sock.sendall(_PROBE)
            return sock.recv(16).startswith(b"HTTP/1.")
    except OSError:
        return False


def log_tail(path: Path, limit: int = 1500) -> str:
    """The end of a server's log, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return text[-limit:].strip() or "(empty log)"


@dataclass
class RunningServer:
    """A spawned server and where its output goes."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_file: IO[bytes]



def start_server(argv: list[str], *, port: int, cwd: Path, log_path: Path,
                 env: dict[str, str]) -> RunningServer:
    """Spawn `argv` in a new session and return once it answers HTTP, or raise."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("wb")
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True)
    server = RunningServer(process, port, log_path, log_file)
    deadline = time.monotonic() + DEADLINES_S["ready"]
    while True:
        if process.poll() is not None:
            stop_server(server)
            raise ServerError(f"exited with {process.returncode} before answering; "
                              f"log {log_path}:\n{log_tail(log_path)}")
        if answers_http(port, DEADLINES_S["probe"]):
            return server
        if time.monotonic() > deadline:
            stop_server(server)
            raise ServerError(f"did not answer on {HOST}:{port} within "
                              f"{DEADLINES_S['ready']:.0f} s; log {log_path}:\n{log_tail(log_path)}")
        time.sleep(DEADLINES_S["poll"])


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send `sig` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def stop_server(server: RunningServer) -> None:
    """SIGTERM the whole process group, SIGKILL it after a deadline, reap the leader."""
    pgid = server.process.pid  # start_new_session makes the leader's pid the group id
    if _signal_group(pgid, signal.SIGTERM):
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(DEADLINES_S["term"])
    # Workers may outlive their leader; whatever is left of the group goes now.
    _signal_group(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(DEADLINES_S["kill"])
    server.log_file.close()


def group_pids(pgid: int) -> list[int]:
    """Pids of every live process in group `pgid` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp ...
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def parse_smaps_rollup(text: str) -> dict[str, int]:
    """The kB figures of /proc/<pid>/smaps_rollup, by field name (Rss, Pss, ...)."""
    figures = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            figures[name.strip()] = int(parts[0])
    return figures


@dataclass(frozen=True)
class GroupMemory:
    """Memory of a whole process group: RSS counts shared pages once per process, PSS splits them."""

    processes: int
    rss_kib: int
    pss_kib: int


def group_memory(pgid: int) -> GroupMemory:
    """Sum RSS and PSS over every process of group `pgid` (Linux 4.14+ smaps_rollup)."""
    rss = pss = count = 0
    for pid in group_pids(pgid):
        try:
            figures = parse_smaps_rollup(Path(f"/proc/{pid}/smaps_rollup").read_text())
        except OSError:
            continue  # the process ended between listing and reading
        rss += figures.get("Rss", 0)
        pss += figures.get("Pss", 0)
        count += 1
    return GroupMemory(count, rss, pss)
