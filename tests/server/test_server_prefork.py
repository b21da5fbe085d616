"""The pre-fork supervisor: its pure decision function, and real workers on a shared socket."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from wire import Client, get

from treadle.server.prefork import (
    Exit,
    Kill,
    Spawn,
    Supervisor,
    SupervisorState,
    Terminate,
    Wait,
    decide,
)

ROOT = Path(__file__).resolve().parents[2]


# -- decide(): what to do next, as a pure function of state ---------------------------


def test_missing_workers_are_spawned() -> None:
    assert decide(SupervisorState(workers=3, alive=frozenset({10})), now=0) == Spawn(2)


def test_a_full_set_of_workers_waits() -> None:
    assert type(decide(SupervisorState(workers=2, alive=frozenset({10, 11})), now=0)) is Wait


def test_a_stop_request_terminates_every_worker() -> None:
    state = SupervisorState(workers=2, alive=frozenset({11, 10}), stop_requested=True)
    assert decide(state, now=0) == Terminate((10, 11))


def test_stopping_waits_for_workers_until_the_deadline() -> None:
    state = SupervisorState(workers=2, alive=frozenset({10}), stop_requested=True,
                            stop_deadline=30.0)
    assert decide(state, now=29.95) == Wait(pytest.approx(0.05))


def test_workers_left_after_the_deadline_are_killed_once() -> None:
    state = SupervisorState(workers=2, alive=frozenset({10}), stop_requested=True,
                            stop_deadline=30.0)
    assert decide(state, now=30.0) == Kill((10,))
    killed = SupervisorState(workers=2, alive=frozenset({10}), stop_requested=True,
                             stop_deadline=30.0, killed=True)
    assert type(decide(killed, now=31.0)) is Wait


def test_a_stopped_supervisor_exits_zero_once_workers_are_gone() -> None:
    state = SupervisorState(workers=2, stop_requested=True, stop_deadline=30.0)
    assert decide(state, now=1.0) == Exit(0)


def test_dead_workers_are_not_replaced_while_stopping() -> None:
    state = SupervisorState(workers=4, alive=frozenset({10}), stop_requested=True,
                            stop_deadline=30.0)
    assert type(decide(state, now=1.0)) is Wait


def test_a_worker_that_cannot_boot_stops_everything_and_exits_one() -> None:
    failing = SupervisorState(workers=2, alive=frozenset({11}), boot_failed=True)
    assert decide(failing, now=0) == Terminate((11,))
    assert decide(SupervisorState(workers=2, boot_failed=True, stop_deadline=5.0), now=0) == Exit(1)


# -- real workers ------------------------------------------------------------------------


def pid_app(environ: dict[str, Any], start_response: Any) -> Any:
    """/hold sends its pid, then blocks reading a body; other paths answer with the pid."""
    write = start_response("200 OK", [("Content-Type", "application/json")])
    info = json.dumps({"pid": os.getpid(), "multiprocess": environ["wsgi.multiprocess"],
                       "multithread": environ["wsgi.multithread"]}).encode()
    if environ["PATH_INFO"] == "/hold":
        write(info + b"\n")
        environ["wsgi.input"].read()
        return [b"released"]
    return [info]


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_two_workers_answer_from_two_pids(serve: Any) -> None:
    srv = serve(pid_app, processes=2)
    assert isinstance(srv.server, Supervisor)
    wait_for(lambda: len(srv.server.worker_pids) == 2)
    with Client(srv.server.server_address) as held:
        # Hold one single-threaded worker inside the app; only the other can answer.
        held.send(b"POST /hold HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n")
        resp = http.client.HTTPResponse(held._file)  # type: ignore[arg-type]
        resp.begin()
        held_info = json.loads(resp.readline())
        other = json.loads(get(srv).body)
        held.send(b"x")
        assert resp.read() == b"released"
    assert held_info["pid"] != other["pid"]
    assert {held_info["pid"], other["pid"]} == set(srv.server.worker_pids)
    assert other["multiprocess"] is True and other["multithread"] is False


def test_threaded_workers_with_threads_option(serve: Any) -> None:
    srv = serve(pid_app, processes=2, threads=4)
    info = json.loads(get(srv).body)
    assert info["multiprocess"] is True and info["multithread"] is True


def test_a_killed_worker_is_replaced(serve: Any) -> None:
    srv = serve(pid_app, processes=2)
    wait_for(lambda: len(srv.server.worker_pids) == 2)
    before = set(srv.server.worker_pids)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in srv.server.worker_pids
             and len(srv.server.worker_pids) == 2)
    assert len(set(srv.server.worker_pids) - before) == 1
    assert get(srv).status == 200


def test_workers_send_heartbeats(serve: Any) -> None:
    srv = serve(pid_app, processes=2, keepalive_timeout=0.4)
    wait_for(lambda: len(srv.server.worker_pids) == 2)
    started = time.monotonic()
    wait_for(lambda: len(srv.server.last_beat) == 2
             and min(srv.server.last_beat.values()) > started)


def test_threaded_and_processes_together_are_rejected() -> None:
    from treadle.serving import make_server

    with pytest.raises(ValueError, match="threads=T"):
        make_server("127.0.0.1", 0, pid_app, threaded=True, processes=2)


def run_cli(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "server"),
                                                       os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "treadle.serving", "--port", "0", *args],
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def bound_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if "Running on http://127.0.0.1:" in line:
            return int(line.rsplit(":", 1)[1])
    proc.kill()
    raise AssertionError("the server never said where it listens")


def test_sigterm_stops_the_supervisor_and_its_workers_with_exit_0() -> None:
    proc = run_cli("--processes", "2", "test_server_prefork:pid_app")
    try:
        port = bound_port(proc)
        body = json.loads(get_port(port))
        assert body["multiprocess"] is True
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        with pytest.raises(ProcessLookupError):
            os.kill(body["pid"], 0)  # the worker is gone too
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def get_port(port: int) -> bytes:
    with Client(("127.0.0.1", port)) as client:
        return client.request().body


def test_shutdown_kills_a_worker_stuck_past_graceful_timeout(serve: Any) -> None:
    srv = serve(pid_app, processes=2, graceful_timeout=0.3)
    wait_for(lambda: len(srv.server.worker_pids) == 2)
    with Client(srv.server.server_address) as held:
        held.send(b"POST /hold HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n")
        resp = http.client.HTTPResponse(held._file)  # type: ignore[arg-type]
        resp.begin()
        stuck = json.loads(resp.readline())["pid"]  # that worker now waits for a body byte
        started = time.monotonic()
        srv.server.shutdown()
        assert time.monotonic() - started < 5
    assert not srv.server.worker_pids
    with pytest.raises(ProcessLookupError):
        os.kill(stuck, 0)
