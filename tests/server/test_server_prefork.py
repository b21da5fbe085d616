"""The pre-fork supervisor: its pure decision function, and real workers on a shared socket."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lifecycle_apps import app as lifecycle_app
from procs import Load, ServerProcess, request
from wire import Client, encode, get

from treadle.server.base import READY, RETIRE
from treadle.server.prefork import (
    WORKER_BOOT_ERROR,
    Exit,
    Kill,
    Spawn,
    Supervisor,
    SupervisorState,
    Terminate,
    Wait,
    decide,
    exited,
    killed,
    reloaded,
    reported,
    resized,
    spawned,
    terminated,
)
from treadle.server.single import SingleThreadedServer
from treadle.serving import make_server

ROOT = Path(__file__).resolve().parents[2]


# -- decide(): what to do next, as a pure function of state ---------------------------


def running(*pids: int, workers: int | None = None, **changes: Any) -> SupervisorState:
    """A state with ``pids`` alive, ready and heard from at time 0."""
    state = SupervisorState(workers=len(pids) if workers is None else workers,
                            alive=frozenset(pids), ready=frozenset(pids), ever_ready=True,
                            last_beat=dict.fromkeys(pids, 0.0))
    return replace(state, **changes)


def test_missing_workers_are_spawned() -> None:
    assert decide(running(10, workers=3), now=0) == Spawn(2)


def test_a_full_set_of_workers_waits() -> None:
    assert type(decide(running(10, 11), now=0)) is Wait


def test_a_stop_request_terminates_every_worker() -> None:
    assert decide(running(11, 10, stop_requested=True), now=0) == Terminate((10, 11))


def test_stopping_waits_for_workers_until_the_deadline() -> None:
    state = terminated(running(10, stop_requested=True), (10,), deadline=30.0)
    assert type(decide(state, now=29.95)) is Wait


def test_workers_left_after_the_deadline_are_killed_once() -> None:
    state = terminated(running(10, stop_requested=True), (10,), deadline=30.0)
    assert decide(state, now=30.0) == Kill((10,))
    assert type(decide(killed(state, (10,)), now=31.0)) is Wait


def test_a_stopped_supervisor_exits_zero_once_workers_are_gone() -> None:
    state = exited(terminated(running(10, stop_requested=True), (10,), 30.0), 10, 0)
    assert decide(state, now=1.0) == Exit(0)


def test_dead_workers_are_not_replaced_while_stopping() -> None:
    state = terminated(running(10, workers=4, stop_requested=True), (10,), 30.0)
    assert type(decide(state, now=1.0)) is Wait


def test_a_worker_that_cannot_boot_at_start_stops_everything_and_exits_one() -> None:
    state = spawned(spawned(SupervisorState(workers=2), 10, 0.0), 11, 0.0)
    failing = exited(state, 10, WORKER_BOOT_ERROR)
    assert failing.boot_failed
    assert decide(failing, now=0) == Terminate((11,))
    assert decide(exited(failing, 11, 0), now=0) == Exit(1)


def test_a_dead_worker_is_replaced() -> None:
    assert decide(exited(running(10, 11), 10, -9), now=0) == Spawn(1)


def test_ready_is_recorded_from_the_pipe() -> None:
    state = reported(spawned(SupervisorState(workers=1), 10, 0.0), 10, READY, now=0.5)
    assert state.ready == {10} and state.ever_ready and state.last_beat[10] == 0.5


# reload (SIGHUP): one fresh worker at a time, old ones stop only once it is ready


def test_reload_first_spawns_one_extra_worker() -> None:
    assert decide(reloaded(running(10, 11)), now=0) == Spawn(1)


def test_reload_waits_while_the_new_worker_boots() -> None:
    state = spawned(reloaded(running(10, 11)), 12, 0.0)
    assert type(decide(state, now=0.1)) is Wait


def test_reload_stops_one_old_worker_once_the_new_one_is_ready() -> None:
    state = reported(spawned(reloaded(running(10, 11)), 12, 0.0), 12, READY, now=0.1)
    assert decide(state, now=0.1) == Terminate((10,))


def test_reload_replaces_the_next_old_worker_after_the_first() -> None:
    state = reported(spawned(reloaded(running(10, 11)), 12, 0.0), 12, READY, now=0.1)
    state = terminated(state, (10,), deadline=30.0)
    assert decide(state, now=0.2) == Spawn(1)
    state = reported(spawned(state, 13, 0.2), 13, READY, now=0.3)
    assert decide(state, now=0.3) == Terminate((11,))
    state = terminated(state, (11,), deadline=30.0)
    assert type(decide(state, now=0.4)) is Wait
    assert state.serving == {12, 13} and not state.retiring


def test_reload_whose_new_worker_cannot_boot_keeps_the_old_workers() -> None:
    state = spawned(reloaded(running(10, 11)), 12, 0.0)
    state = exited(state, 12, WORKER_BOOT_ERROR)
    assert not state.boot_failed and not state.retiring
    assert type(decide(state, now=0.1)) is Wait


def test_reload_is_ignored_while_stopping() -> None:
    state = running(10, stop_requested=True)
    assert reloaded(state) == state


# max_requests and stuck threads: the worker asks, the supervisor replaces it


def test_a_worker_asking_to_retire_is_replaced_before_it_is_stopped() -> None:
    state = reported(running(10, 11), 10, RETIRE, now=1.0)
    assert state.retiring == {10}
    assert decide(state, now=1.0) == Spawn(1)


def test_a_worker_asks_to_retire_only_once() -> None:
    state = reported(running(10, 11), 10, RETIRE, now=1.0)
    state = exited(reported(spawned(state, 12, 1.0), 12, READY, 1.1), 12, 0)
    assert reported(replace(state, retiring=frozenset()), 10, RETIRE, 2.0).retiring == set()


# timeout: a worker that stops reporting is killed, then replaced


def test_a_silent_worker_is_killed_after_timeout() -> None:
    state = running(10, 11, timeout=5.0, last_beat={10: 0.0, 11: 4.0})
    assert decide(state, now=5.5) == Kill((10,))


def test_a_killed_silent_worker_is_replaced_before_it_is_reaped() -> None:
    state = killed(running(10, 11, timeout=5.0, last_beat={10: 0.0, 11: 5.0}), (10,))
    assert decide(state, now=5.5) == Spawn(1)


def test_without_timeout_silence_is_never_fatal() -> None:
    assert type(decide(running(10, timeout=0.0), now=1e6)) is Wait


def test_waits_no_longer_than_the_next_possible_timeout() -> None:
    wait = decide(running(10, timeout=5.0, last_beat={10: 0.0}), now=4.8)
    assert type(wait) is Wait and wait.timeout == pytest.approx(0.2)


def test_a_worker_told_to_stop_is_judged_by_its_grace_period_not_its_silence() -> None:
    state = terminated(running(10, 11, timeout=5.0, last_beat={10: 0.0, 11: 9.0}), (10,), 20.0)
    assert decide(state, now=9.5) != Kill((10,))


# SIGTTIN / SIGTTOU


def test_ttin_adds_a_worker() -> None:
    assert decide(resized(running(10, 11), +1), now=0) == Spawn(1)


def test_ttou_stops_one_worker_but_never_the_last() -> None:
    assert decide(resized(running(10, 11), -1), now=0) == Terminate((10,))
    assert resized(running(10), -1).workers == 1


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


# A body the server does not collect before calling the app (the client awaits 100
# Continue), so /hold runs and then waits in wsgi.input for the byte sent later.
HOLD = b"POST /hold HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n"


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
        held.send(HOLD)
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


def test_a_killed_worker_is_replaced_within_a_second(serve: Any) -> None:
    srv = serve(pid_app, processes=2)
    wait_for(lambda: len(srv.server.ready_pids) == 2)
    before = set(srv.server.worker_pids)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in srv.server.worker_pids
             and len(srv.server.worker_pids) == 2, timeout=1.0)
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
        held.send(HOLD)
        resp = http.client.HTTPResponse(held._file)  # type: ignore[arg-type]
        resp.begin()
        stuck = json.loads(resp.readline())["pid"]  # that worker now waits for a body byte
        started = time.monotonic()
        srv.server.shutdown()
        assert time.monotonic() - started < 5
    assert not srv.server.worker_pids
    with pytest.raises(ProcessLookupError):
        os.kill(stuck, 0)


# -- recycling and hard timeouts ----------------------------------------------------------


def pid_of(response: Any) -> int:
    assert response.status == 200
    return int(json.loads(response.body)["pid"])


def test_max_requests_recycles_workers_without_failing_a_request(serve: Any) -> None:
    srv = serve(pid_app, processes=2, max_requests=50, max_requests_jitter=5)
    pids = {pid_of(get(srv)) for _ in range(200)}
    assert len(pids) >= 3


def test_a_threaded_worker_is_recycled_too(serve: Any) -> None:
    srv = serve(pid_app, processes=2, threads=4, max_requests=20)
    pids = {pid_of(get(srv)) for _ in range(100)}
    assert len(pids) >= 3


def test_a_stuck_single_threaded_worker_is_killed_and_replaced(serve: Any) -> None:
    srv = serve(lifecycle_app, processes=2, timeout=1)
    wait_for(lambda: len(srv.server.ready_pids) == 2)
    before = set(srv.server.worker_pids)
    with Client(srv.server.server_address) as stuck:
        stuck.send(encode("GET", "/stuck"))  # sleeps 10 s in one worker
        started = time.monotonic()
        wait_for(lambda: len(before - srv.server.worker_pids) == 1, timeout=4.0)
        assert stuck.closed_by_server()  # killed: no response, no hang
    assert time.monotonic() - started < 4.0
    wait_for(lambda: len(srv.server.ready_pids) == 2, timeout=2.0)
    assert get(srv, "/").status == 200


def test_a_stuck_thread_gets_its_worker_replaced_while_others_keep_serving(serve: Any) -> None:
    srv = serve(lifecycle_app, processes=2, threads=4, timeout=1, graceful_timeout=1)
    wait_for(lambda: len(srv.server.ready_pids) == 2)
    before = set(srv.server.worker_pids)
    with Client(srv.server.server_address) as stuck:
        stuck.send(encode("GET", "/stuck"))
        wait_for(lambda: len(before - srv.server.worker_pids) == 1, timeout=8.0)
        assert stuck.closed_by_server()
    wait_for(lambda: len(srv.server.ready_pids) == 2, timeout=2.0)
    assert get(srv, "/").status == 200


def test_threaded_workers_have_no_hard_timeout_by_default(serve: Any) -> None:
    srv = serve(pid_app, processes=2, threads=2)
    single = serve(pid_app, processes=2)
    assert srv.server.timeout == 0 and single.server.timeout == 30


def test_worker_options_without_processes_are_ignored_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    from treadle.serving import make_server

    server = make_server("127.0.0.1", 0, pid_app, threaded=True, max_requests=10)
    server.server_close()
    assert "max_requests only act on worker processes" in caplog.text


# -- signals to a real supervisor process --------------------------------------------------


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux)."""
    with open(f"/proc/{pid}/task/{pid}/children") as file:
        return {int(p) for p in file.read().split()}


RELOAD_APP = """
import os

VERSION = {version!r}


def app(environ, start_response):
    body = f"{{VERSION}} {{os.getpid()}}".encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


def test_sighup_under_load_replaces_every_worker_with_new_code(tmp_path: Path) -> None:
    module = tmp_path / "reload_app.py"
    module.write_text(RELOAD_APP.format(version="one"))
    server = ServerProcess(["--processes", "2", "--log-level", "warning", "reload_app:app"],
                           log_path=tmp_path / "server.log", cwd=tmp_path)
    try:
        assert server.wait_ready().body.startswith(b"one ")
        wait_for(lambda: len(children(server.proc.pid)) == 2)
        old = children(server.proc.pid)
        load = Load(server.port, keepalive=2, fresh=2, paths=("/",)).start()
        wait_for(lambda: load.count() > 20)
        module.write_text(RELOAD_APP.format(version="two, edited"))
        server.signal(signal.SIGHUP)
        wait_for(lambda: not (old & children(server.proc.pid)), timeout=15.0)
        seen = load.count()
        wait_for(lambda: load.count() > seen + 20)
        results = load.stop()
        assert [r.status for r in results if r.status != "ok"] == []
        assert results[-1].body.startswith(b"two, edited ")
        for _ in range(10):
            version, _, pid = request(server.port, "/").body.decode().rpartition(" ")
            assert version == "two, edited" and int(pid) not in old
        assert len(children(server.proc.pid)) == 2
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
    finally:
        server.close()


def test_sighup_with_broken_new_code_keeps_the_old_workers(tmp_path: Path) -> None:
    module = tmp_path / "reload_app.py"
    module.write_text(RELOAD_APP.format(version="one"))
    server = ServerProcess(["--processes", "2", "--log-level", "debug", "reload_app:app"],
                           log_path=tmp_path / "server.log", cwd=tmp_path)
    try:
        # Both workers must have imported the good code before it is broken.
        wait_for(lambda: server.log().count(" is ready") == 2)
        old = children(server.proc.pid)
        module.write_text("raise RuntimeError('a typo in the new code')\n")
        server.signal(signal.SIGHUP)
        wait_for(lambda: "the old workers keep serving" in server.log())
        assert children(server.proc.pid) == old, server.log()
        assert request(server.port, "/").body.startswith(b"one ")
        assert "a typo in the new code" in server.log()
    finally:
        server.close()


def test_ttin_adds_a_worker_and_ttou_removes_one(tmp_path: Path) -> None:
    server = ServerProcess(["--processes", "2", "lifecycle_apps:app"],
                           log_path=tmp_path / "server.log")
    try:
        server.wait_ready()
        wait_for(lambda: len(children(server.proc.pid)) == 2)
        server.signal(signal.SIGTTIN)
        wait_for(lambda: len(children(server.proc.pid)) == 3)
        server.signal(signal.SIGTTOU)
        wait_for(lambda: len(children(server.proc.pid)) == 2)
        server.signal(signal.SIGTTOU)  # sent apart: two pending signals of a kind merge into one
        wait_for(lambda: len(children(server.proc.pid)) == 1)
        assert request(server.port, "/").status == "ok"
    finally:
        server.close()


def test_workers_serve_on_a_unix_socket_and_the_file_goes_at_stop(
        serve: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "app.sock")
    srv = serve(pid_app, host=f"unix:{path}", processes=2)
    with Client(path) as client:
        assert pid_of(client.request()) in srv.server.worker_pids
    srv.stop()
    assert not Path(path).exists()


def test_an_import_string_app_is_imported_by_each_worker(serve: Any) -> None:
    srv = serve("lifecycle_apps:app", processes=2)
    assert srv.server.app == "lifecycle_apps:app"
    body = get(srv).body
    assert int(body.split(b"\n", 1)[0]) in srv.server.worker_pids


def test_an_import_string_naming_no_module_fails_before_forking() -> None:
    from treadle.serving import make_server

    with pytest.raises(ImportError, match="no_such_module"):
        make_server("127.0.0.1", 0, "no_such_module:app", processes=2)


def test_a_worker_stopped_by_a_group_signal_is_not_taken_for_a_dead_one(
        caplog: pytest.LogCaptureFixture) -> None:
    # Ctrl+C or a group SIGTERM reaches the workers and the supervisor together; a worker
    # may be gone before the supervisor has read its own copy of the signal.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        supervisor = Supervisor(listener, pid_app, workers=1, engine=SingleThreadedServer)
        pid = os.fork()
        if pid == 0:  # a worker that stops at once, as on SIGTERM
            os._exit(0)
        supervisor.state = running(pid)
        os.write(supervisor._wake_w, bytes([signal.SIGTERM]))  # what the wakeup fd gets
        supervisor._reap(block=True)
    assert supervisor.state.stop_requested
    assert pid not in supervisor.state.alive
    assert decide(supervisor.state, 0.0) == Exit(0)
    assert "starting a replacement" not in caplog.text


@pytest.mark.parametrize("supervised", [False, True])
def test_a_worker_sharing_the_listener_accepts_one_connection_per_wake_up(
        supervised: bool) -> None:
    # Pre-forked workers are all woken by a new connection; taking one each per wake-up
    # shares a burst (a client opening its pool) between them instead of the first one
    # awake taking it all. A lone server takes what is queued.
    server = make_server("127.0.0.1", 0, pid_app)
    read_end, write_end = os.pipe()
    clients = []
    try:
        if supervised:
            server.attach_supervisor(write_end, retire_after=0, request_timeout=0)
        clients = [socket.create_connection(server.server_address) for _ in range(3)]
        server._accept()  # what the loop does when the listener is ready
        assert len(server._channels) == (1 if supervised else 3)
    finally:
        for sock in clients:
            sock.close()
        server.server_close()
        os.close(read_end)
        os.close(write_end)
