"""Drive a server with wrk and read its report back as numbers.

Owns the wrk command line (one thread, `--latency` for p99) and the parsing
of wrk's text output. Parsing is pure, so it is tested on captured output.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

# wrk's own flags that every run shares; the scenario adds connections and headers.
WRK_THREADS = 1
WRK_SOCKET_TIMEOUT_S = 2
# wrk runs for its duration plus this much before it is considered hung.
WRK_SLACK_S = 15.0

# wrk's time units, scaled to milliseconds.
_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}

_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.M)
_P99 = re.compile(r"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_P50 = re.compile(r"^\s*50(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


class WrkError(RuntimeError):
    """wrk could not run, or printed something that is not a report."""


@dataclass(frozen=True)
class WrkReport:
    """The figures of one wrk run."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    duration_s: float
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    non_2xx: int

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts


def _time_ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS_MS[unit]


def parse_wrk_output(text: str) -> WrkReport:
    """Read the numbers out of `wrk --latency` output; absent error lines mean zero."""
    rps = _RPS.search(text)
    p99 = _P99.search(text)
    p50 = _P50.search(text)
    total = _TOTAL.search(text)
    if rps is None or p99 is None or p50 is None or total is None:
        excerpt = text.strip()[-500:] or "(no output)"
        raise WrkError(
            "wrk output has no Requests/sec, latency distribution or request total; "
            f"was --latency passed and did wrk reach the server? wrk said:\n{excerpt}")
    errors = _SOCKET_ERRORS.search(text)
    connect, read, write, timeout = (int(g) for g in errors.groups()) if errors else (0, 0, 0, 0)
    non_2xx = _NON_2XX.search(text)
    return WrkReport(
        requests_per_s=float(rps.group(1)),
        p50_ms=_time_ms(*p50.groups()),
        p99_ms=_time_ms(*p99.groups()),
        requests=int(total.group(1)),
        duration_s=_time_ms(total.group(2), total.group(3)) / 1000.0,
        connect_errors=connect,
        read_errors=read,
        write_errors=write,
        timeouts=timeout,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def wrk_binary() -> str:
    """The path of wrk, or an error that says how to get it."""
    path = shutil.which("wrk")
    if path is None:
        raise WrkError("wrk is not on PATH; install it (Debian/Ubuntu: apt-get install wrk)")
    return path


def wrk_command(url: str, *, connections: int, duration_s: float,
                headers: tuple[str, ...] = (), wrk: str = "wrk") -> list[str]:
    """The wrk argv for one run; every server in a scenario gets exactly this."""
    argv = [wrk, f"-t{WRK_THREADS}", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
            "--latency", f"--timeout={WRK_SOCKET_TIMEOUT_S}s"]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    return argv


def run_wrk(url: str, *, connections: int, duration_s: float,
            headers: tuple[str, ...] = ()) -> WrkReport:
    """Run wrk against `url` and return its figures; never runs past its deadline."""
    argv = wrk_command(url, connections=connections, duration_s=duration_s, headers=headers,
                       wrk=wrk_binary())
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=duration_s + WRK_SLACK_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise WrkError(f"wrk did not finish within {duration_s + WRK_SLACK_S:.0f} s") from exc
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {(done.stderr or done.stdout).strip()}")
    return parse_wrk_output(done.stdout)


def wrk_version() -> str:
    """wrk's version line, for the results header."""
    done = subprocess.run([wrk_binary(), "--version"], capture_output=True, text=True,
                          timeout=10, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()
