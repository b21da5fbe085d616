"""Concurrency models: single-threaded is serial, threaded is concurrent with a bounded pool."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wire import Client, encode, get

from treadle.server.single import SingleThreadedServer
from treadle.server.threaded import ThreadedServer


def test_single_threaded_mode_runs_one_request_at_a_time(serve: Any) -> None:
    lock = threading.Lock()
    active = 0
    peak = 0

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)  # a window in which an overlapping request would be seen
        with lock:
            active -= 1
        start_response("200 OK", [])
        return [b"ok"]

    srv = serve(app)
    assert isinstance(srv.server, SingleThreadedServer)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: get(srv).status, range(16)))
    assert statuses == [200] * 16
    assert peak == 1


def test_single_threaded_mode_holds_a_second_request_until_the_first_ends(serve: Any) -> None:
    release = threading.Event()
    entered = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/block":
            entered.set()
            release.wait(10)
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]

    srv = serve(app)
    address = srv.server.server_address
    with Client(address) as blocked, Client(address, timeout=0.3) as waiting:
        blocked.send(encode("GET", "/block"))
        assert entered.wait(5)
        waiting.send(encode("GET", "/next"))
        try:
            waiting.sock.recv(1)
            raise AssertionError("a second request was served while the first was running")
        except TimeoutError:
            pass
        release.set()
        assert blocked.response().body == b"/block"
        waiting.sock.settimeout(5)
        assert waiting.response().body == b"/next"


def test_threaded_mode_runs_twenty_slow_requests_at_once(serve: Any) -> None:
    barrier = threading.Barrier(20, timeout=10)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        barrier.wait()  # only passes if all 20 requests are running together
        time.sleep(0.2)
        start_response("200 OK", [])
        return [b"done"]

    srv = serve(app, threaded=True)
    assert isinstance(srv.server, ThreadedServer)
    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        bodies = list(pool.map(lambda _: get(srv).body, range(20)))
    assert bodies == [b"done"] * 20
    assert time.monotonic() - started < 2.0


def test_idle_keep_alive_connections_hold_no_thread(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [threading.current_thread().name.encode()]

    srv = serve(app, threaded=True, threads=4)
    clients = [Client(srv.server.server_address) for _ in range(200)]
    try:
        for client in clients:
            assert client.request().status == 200
        # 200 connections are open and idle; 4 threads served them all.
        assert srv.server.pool.thread_count <= 4
        assert threading.active_count() < 50
        with ThreadPoolExecutor(16) as pool:
            names = set(pool.map(lambda c: c.request().body, clients))
        # The pool's threads, and the loop's two when it runs requests inline (under the GIL).
        workers = {name for name in names if name.startswith(b"treadle-worker-")}
        assert len(workers) <= srv.server.pool.size
        assert not names - workers - {b"treadle-loop-1", b"treadle-loop-2"}
    finally:
        for client in clients:
            client.close()


def test_pool_never_grows_past_its_size_under_load(serve: Any) -> None:
    lock = threading.Lock()
    active = 0
    peak = 0

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        start_response("200 OK", [])
        return [b"ok"]

    srv = serve(app, threaded=True, threads=3)
    with ThreadPoolExecutor(12) as pool:
        assert set(pool.map(lambda _: get(srv).status, range(24))) == {200}
    assert peak <= 3
    assert srv.server.pool.thread_count <= 3


def test_shutdown_lets_an_in_flight_request_finish(serve: Any) -> None:
    entered = threading.Event()
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(10)
        start_response("200 OK", [])
        return [b"finished"]

    srv = serve(app, threaded=True)
    with Client(srv.server.server_address) as client:
        client.send(encode("GET", "/"))
        assert entered.wait(5)
        stopper = threading.Thread(target=srv.server.shutdown)
        stopper.start()
        deadline = time.monotonic() + 5
        while not srv.server.stopping and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.server.stopping
        release.set()
        resp = client.response()
        stopper.join(10)
    assert resp.body == b"finished"
    assert resp.header("Connection") == "close"
    assert not stopper.is_alive()


def test_shutdown_gives_up_on_a_stuck_request_after_graceful_timeout(serve: Any) -> None:
    entered = threading.Event()
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(10)
        start_response("200 OK", [])
        return [b"late"]

    srv = serve(app, threaded=True, graceful_timeout=0.2)
    try:
        with Client(srv.server.server_address) as client:
            client.send(encode("GET", "/"))
            assert entered.wait(5)
            started = time.monotonic()
            srv.server.shutdown()
            assert time.monotonic() - started < 3
    finally:
        release.set()


def test_single_threaded_shutdown_closes_idle_connections(serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    srv = serve(app)
    with Client(srv.server.server_address) as client:
        assert client.request().status == 200
        srv.server.shutdown()
        assert client.closed_by_server()


def test_server_close_while_serving_stops_the_loop_cleanly() -> None:
    from treadle.serving import make_server

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, app)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.serve_forever()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    with Client(server.server_address) as client:
        assert client.request().status == 200
    server.server_close()
    thread.join(5)
    assert not thread.is_alive()
    assert errors == []


def _open_fds() -> int:
    import os

    return len(os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"))


def test_servers_release_every_descriptor(serve: Any) -> None:
    from treadle.serving import make_server

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    def cycle() -> None:
        for threaded in (False, True):
            make_server("127.0.0.1", 0, app, threaded=threaded).server_close()
            srv = serve(app, threaded=threaded)
            assert get(srv).status == 200
            srv.stop()
        make_server("127.0.0.1", 0, app, processes=2).server_close()

    cycle()  # warm caches and lazily opened files
    before = _open_fds()
    for _ in range(5):
        cycle()
    assert _open_fds() == before
