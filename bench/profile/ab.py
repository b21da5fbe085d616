"""Interleaved A/B of treadle source trees under wrk: req/s, p99 and server CPU per request.

    python bench/profile/ab.py base=/tmp/old/src new=src --args "--threaded apps:hello"
    python bench/profile/ab.py old=/tmp/old/src new=src -c 200 --wrk "-H|Connection: close"

Each variant is NAME=SRC_DIR[:ENV=VALUE;...]: the server runs with PYTHONPATH=SRC_DIR
(export an old tree with `git archive REV src | tar -x -C /tmp/old`). Variants take
turns, round after round, so a change in the machine's load hits them alike; on a
shared machine only compare variants within one run. Besides wrk's figures it
prints the server's CPU time per request (all its threads, from /proc), which
moves less with the load than req/s does, and the machine's idle share.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system time of every thread of ``pid`` (Linux /proc)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread exited meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_idle() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[3] + values[4], sum(values)


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no server on port {port} after {timeout:g}s") from None
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_once(source: str, env_extra: dict[str, str], args: argparse.Namespace
             ) -> tuple[float, float, float, float] | None:
    """(req/s, p99 ms, CPU us per request, machine idle %) for one server run."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(source).resolve()), **env_extra)
    server = subprocess.Popen(
        [sys.executable, "-m", "treadle.serving", "--port", str(port), "--log-level", "warning",
         *args.args.split()], cwd=BENCH, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        url = f"http://127.0.0.1:{port}{args.path}"
        wrk = ["wrk", "-t1", f"-c{args.c}", "--latency", "--timeout=2s",
               *[w for w in args.wrk.split("|") if w]]
        subprocess.run([*wrk, "-d1s", url], capture_output=True, timeout=30, check=False)
        cpu0, (idle0, total0) = cpu_seconds(server.pid), machine_idle()
        out = subprocess.run([*wrk, f"-d{args.d}s", url], capture_output=True, text=True,
                             timeout=args.d + 30, check=False).stdout
        cpu1, (idle1, total1) = cpu_seconds(server.pid), machine_idle()
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if rate is None or p99 is None:
        print(f"wrk gave no figures:\n{out}", file=sys.stderr)
        return None
    rps = float(rate.group(1))
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    us = (cpu1 - cpu0) / (rps * args.d) * 1e6 if rps else 0.0
    idle = (idle1 - idle0) / max(1, total1 - total0) * 100
    return rps, p99_ms, us, idle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", help="NAME=SRC_DIR[:ENV=VALUE;...]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-c", type=int, default=50, help="wrk connections (50)")
    parser.add_argument("-d", type=int, default=4, help="seconds per measured run (4)")
    parser.add_argument("--args", default="--threaded apps:hello",
                        help="treadle.serving arguments, app included")
    parser.add_argument("--wrk", default="", help="extra wrk arguments, separated by |")
    parser.add_argument("--path", default="/", help="the URL path wrk requests (/)")
    args = parser.parse_args(argv)
    variants = []
    for spec in args.variants:
        name, _, rest = spec.partition("=")
        source, _, envs = rest.partition(":")
        env = dict(item.split("=", 1) for item in envs.split(";") if item)
        variants.append((name, source, env))
    results: dict[str, list[tuple[float, float, float, float]]] = {}
    for _ in range(args.rounds):
        for name, source, env in variants:
            figures = run_once(source, env, args)
            if figures is None:
                continue
            results.setdefault(name, []).append(figures)
            rps, p99, us, idle = figures
            print(f"{name:10} {rps:9.0f} req/s  p99 {p99:7.2f} ms  cpu {us:6.1f} us/req  "
                  f"machine idle {idle:4.1f}%", flush=True)
    print()
    for name, rows in results.items():
        print(f"{name:10} median {statistics.median(r[0] for r in rows):9.0f} req/s  "
              f"p99 {statistics.median(r[1] for r in rows):7.2f} ms  "
              f"cpu {statistics.median(r[2] for r in rows):6.1f} us/req")
    return 0


if __name__ == "__main__":
    sys.exit(main())
