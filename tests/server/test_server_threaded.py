"""The threaded engine's pool and hand-back: threads woken only when work would wait,
requests read ahead on the serving thread, and the selectors fallback poller."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from wire import Client, encode, get

import treadle.server.base
import treadle.server.threaded
from treadle.server.poller import SelectorPoller
from treadle.server.threaded import ThreadPool
from treadle.serving import make_server

try:
    from treadle import _speedups as speedups
except ImportError:  # built without a C compiler
    speedups = None  # type: ignore[assignment]

TIMEOUT = 5.0


def echo_path(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode() + body]


def thread_name(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [threading.current_thread().name.encode()]


class BlockingThreadName:
    """``thread_name``, except that /block sets ``entered`` and waits for ``release``."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/block":
            self.entered.set()
            self.release.wait(TIMEOUT)
        return thread_name(environ, start_response)


class HandBacks:
    """Channels given back to the loop: ``begun`` is set as a thread starts giving one
    back (before the loop can act on it), ``done`` once it has (its wake-up written)."""

    def __init__(self) -> None:
        self.begun = threading.Event()
        self.done = threading.Event()


@pytest.fixture
def hand_backs(monkeypatch: pytest.MonkeyPatch) -> HandBacks:
    noted = HandBacks()
    hand_back = treadle.server.threaded.ThreadedServer._hand_back

    def noted_hand_back(self: Any, ch: Any, state: int) -> None:
        noted.begun.set()
        hand_back(self, ch, state)
        noted.done.set()

    monkeypatch.setattr(treadle.server.threaded.ThreadedServer, "_hand_back", noted_hand_back)
    return noted


# --- the pool on its own -------------------------------------------------------------------


class Jobs:
    """Stand-in work for a ThreadPool: each job waits for its own gate, then reports."""

    def __init__(self) -> None:
        self.started: dict[str, threading.Event] = {}
        self.gates: dict[str, threading.Event] = {}
        self.done: dict[str, threading.Event] = {}
        self.threads: dict[str, str] = {}

    def add(self, name: str, *, gated: bool = False) -> None:
        self.started[name] = threading.Event()
        self.done[name] = threading.Event()
        self.gates[name] = threading.Event()
        if not gated:
            self.gates[name].set()

    def run(self, name: Any, head: Any) -> int:
        self.started[name].set()
        self.threads[name] = threading.current_thread().name
        self.gates[name].wait(TIMEOUT)
        return 0

    def finish(self, name: Any, state: int) -> None:
        self.done[name].set()


@pytest.fixture
def jobs() -> Iterator[tuple[ThreadPool, Jobs]]:
    work = Jobs()
    pool = ThreadPool(4, work.run, work.finish)
    yield pool, work
    for gate in work.gates.values():
        gate.set()
    pool.stop(TIMEOUT)


def test_a_request_queued_behind_a_blocked_one_gets_a_thread_when_nudged(
        jobs: tuple[ThreadPool, Jobs]) -> None:
    pool, work = jobs
    work.add("slow", gated=True)
    work.add("next")
    pool.submit("slow", None)  # type: ignore[arg-type]
    pool.submit("next", None)  # type: ignore[arg-type]
    assert work.started["slow"].wait(TIMEOUT)
    # The one thread took "slow" and blocks; "next" waits for the loop's nudge.
    due = pool.nudge(time.monotonic() + 1.0)
    assert work.done["next"].wait(TIMEOUT)
    assert work.threads["next"] != work.threads["slow"]
    assert due > time.monotonic()


def test_no_thread_is_added_while_the_process_uses_a_whole_cpu(
        monkeypatch: pytest.MonkeyPatch, jobs: tuple[ThreadPool, Jobs]) -> None:
    # A running thread is making progress then; another would only take turns at the GIL.
    monkeypatch.setattr(treadle.server.threaded, "SAMPLE", float("inf"))
    pool, work = jobs
    pool._saturated = True
    pool._parallel = 1  # under the GIL
    work.add("running", gated=True)
    work.add("next")
    pool.submit("running", None)  # type: ignore[arg-type]
    pool.submit("next", None)  # type: ignore[arg-type]
    assert work.started["running"].wait(TIMEOUT)
    pool.nudge(time.monotonic() + 1.0)
    assert pool.thread_count == 1
    pool._saturated = False
    pool.nudge(time.monotonic() + 1.0)
    assert work.done["next"].wait(TIMEOUT)


def test_without_the_gil_a_saturated_pool_still_runs_one_thread_per_core(
        monkeypatch: pytest.MonkeyPatch, jobs: tuple[ThreadPool, Jobs]) -> None:
    # On free-threaded CPython two threads compute at once on two cores; a third would wait.
    monkeypatch.setattr(treadle.server.threaded, "SAMPLE", float("inf"))
    pool, work = jobs
    pool._saturated = True
    pool._parallel = 2
    for name in ("first", "second", "third"):
        work.add(name, gated=True)
    pool.submit("first", None)  # type: ignore[arg-type]
    assert work.started["first"].wait(TIMEOUT)
    pool.submit("second", None)  # type: ignore[arg-type]
    pool.nudge(time.monotonic() + 1.0)
    assert work.started["second"].wait(TIMEOUT)
    pool.submit("third", None)  # type: ignore[arg-type]
    pool.nudge(time.monotonic() + 1.0)
    assert pool.thread_count == 2 and not work.started["third"].is_set()
    for gate in work.gates.values():
        gate.set()
    assert work.done["third"].wait(TIMEOUT)


def test_parallelism_is_one_with_the_gil_and_the_cores_without() -> None:
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    cores = len(os.sched_getaffinity(0))
    assert treadle.server.threaded.parallelism() == (1 if gil else cores)


def test_nudge_has_nothing_to_do_when_nothing_is_queued(jobs: tuple[ThreadPool, Jobs]) -> None:
    pool, _ = jobs
    assert pool.nudge(time.monotonic()) == treadle.server.base.NEVER
    assert pool.thread_count == 0


def test_requests_one_after_another_reuse_one_thread(
        jobs: tuple[ThreadPool, Jobs]) -> None:
    pool, work = jobs
    for n in range(20):
        work.add(str(n))
        pool.submit(str(n), None)  # type: ignore[arg-type]
        assert work.done[str(n)].wait(TIMEOUT)
    assert set(work.threads.values()) == {work.threads["0"]}


def test_the_pool_never_starts_more_threads_than_its_size(jobs: tuple[ThreadPool, Jobs]) -> None:
    pool, work = jobs
    for n in range(10):
        work.add(str(n), gated=True)
        pool.submit(str(n), None)  # type: ignore[arg-type]
        pool.nudge(time.monotonic() + 1.0)
    assert pool.thread_count == 4
    for gate in work.gates.values():
        gate.set()
    assert all(done.wait(TIMEOUT) for done in work.done.values())
    assert len(set(work.threads.values())) <= 4


def test_stop_runs_the_queued_requests_first(jobs: tuple[ThreadPool, Jobs]) -> None:
    pool, work = jobs
    work.add("first", gated=True)
    work.add("queued")
    pool.submit("first", None)  # type: ignore[arg-type]
    pool.submit("queued", None)  # type: ignore[arg-type]
    assert work.started["first"].wait(TIMEOUT)
    work.gates["first"].set()
    pool.stop(TIMEOUT)
    assert work.done["queued"].is_set()
    assert pool.thread_count == 0


def test_an_idle_thread_exits(monkeypatch: pytest.MonkeyPatch,
                              jobs: tuple[ThreadPool, Jobs]) -> None:
    monkeypatch.setattr(treadle.server.threaded, "IDLE_EXIT", 0.05)
    pool, work = jobs
    work.add("one")
    pool.submit("one", None)  # type: ignore[arg-type]
    assert work.done["one"].wait(TIMEOUT)
    [thread] = [t for t in threading.enumerate() if t.name == work.threads["one"]]
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert pool.thread_count == 0
    work.add("two")
    pool.submit("two", None)  # type: ignore[arg-type]
    assert work.done["two"].wait(TIMEOUT)


# --- the engine ------------------------------------------------------------------------------


def test_requests_in_sequence_are_served_by_one_thread(
        serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Under the GIL they run inline: a long watch keeps a request delayed by the test's own
    # threads from passing for a blocked one, which would move the loop to its other thread.
    monkeypatch.setattr(treadle.server.threaded, "WATCH", 1.0)
    srv = serve(thread_name, threaded=True)
    with Client(srv.server.server_address) as client:
        names = {client.request().body for _ in range(50)}
    assert len(names) == 1


def test_a_request_sent_while_the_previous_one_runs_is_served(serve: Any) -> None:
    inside = threading.Event()
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/first":
            inside.set()
            release.wait(TIMEOUT)
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]

    srv = serve(app, threaded=True)
    with Client(srv.server.server_address) as client:
        client.send(encode("GET", "/first"))
        assert inside.wait(TIMEOUT)
        client.send(encode("GET", "/second"))
        time.sleep(0.05)  # let the loop see the second request's bytes while /first runs
        release.set()
        assert client.response().body == b"/first"
        assert client.response().body == b"/second"


@pytest.fixture
def fallback_poller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the server on the selectors fallback, as on a platform without epoll."""
    monkeypatch.setattr(treadle.server.base, "make_poller", SelectorPoller)


@pytest.mark.usefixtures("fallback_poller")
def test_the_fallback_poller_serves_keep_alive_requests(serve: Any) -> None:
    srv = serve(echo_path, threaded=True)
    with Client(srv.server.server_address) as client:
        for n in range(20):
            assert client.request("POST", f"/{n}", body=b"!").body == f"/{n}!".encode()


@pytest.mark.usefixtures("fallback_poller")
def test_the_fallback_poller_serves_concurrent_clients(serve: Any) -> None:
    barrier = threading.Barrier(8, timeout=TIMEOUT)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        barrier.wait()  # passes only if all eight run at once
        start_response("200 OK", [])
        return [b"ok"]

    srv = serve(app, threaded=True, threads=8)
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: get(srv).body, range(8))) == [b"ok"] * 8


@pytest.mark.usefixtures("fallback_poller")
def test_the_fallback_poller_serves_pipelined_requests(serve: Any) -> None:
    srv = serve(echo_path, threaded=True)
    with Client(srv.server.server_address) as client:
        client.send(encode("GET", "/a") + encode("GET", "/b") + encode("GET", "/c"))
        assert [client.response().body for _ in range(3)] == [b"/a", b"/b", b"/c"]


@pytest.mark.usefixtures("fallback_poller")
def test_the_fallback_poller_closes_idle_connections_on_time(serve: Any) -> None:
    srv = serve(echo_path, threaded=True, keepalive_timeout=0.2)
    with Client(srv.server.server_address) as client:
        assert client.request().status == 200
        started = time.monotonic()
        assert client.closed_by_server()
        assert time.monotonic() - started < 3.0


def test_a_request_that_outlives_the_server_closes_its_socket(serve: Any) -> None:
    entered = threading.Event()
    release = threading.Event()
    sockets: list[int] = []  # the inode of the server's end of the connection
    workers: list[threading.Thread] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        sockets.append(os.fstat(environ["wsgi.input"]._source.fd).st_ino)
        workers.append(threading.current_thread())
        entered.set()
        release.wait(TIMEOUT)
        start_response("200 OK", [])
        return [b"late"]

    srv = serve(app, threaded=True, graceful_timeout=0.1)
    with Client(srv.server.server_address) as client:
        client.send(encode("GET", "/"))
        assert entered.wait(TIMEOUT)
        srv.stop()  # gives up on the request after graceful_timeout
        [worker] = workers
        release.set()
        worker.join(TIMEOUT)
    assert not worker.is_alive()
    assert sockets[0] not in open_inodes(), "the abandoned request's socket was never closed"


def open_inodes() -> set[int]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"/proc/self/fd/{fd}").st_ino)
    return inodes


# --- requests run inline on the loop's thread (under the GIL) ------------------------------

WATCHERS = [pytest.param(treadle.server.threaded._watch_in_python, id="python")]
if speedups is not None:
    WATCHERS.append(pytest.param(speedups.watch_beacon, id="c"))


@pytest.fixture(params=WATCHERS)
def watcher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the standby with each watcher there is: the C one and its pure-Python twin."""
    monkeypatch.setattr(treadle.server.threaded, "watch_beacon", request.param)


def test_short_requests_run_inline_under_the_gil_and_on_the_pool_without(
        serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A watch this long cannot mistake a request delayed by the test's own threads for one
    # that blocks, so every request must have run inline.
    monkeypatch.setattr(treadle.server.threaded, "WATCH", 1.0)
    srv = serve(thread_name, threaded=True, threads=4)
    clients = [Client(srv.server.server_address) for _ in range(5)]
    try:
        names = {client.request().body.decode() for client in clients for _ in range(20)}
    finally:
        for client in clients:
            client.close()
    prefix = "treadle-loop-" if threads_take_turns() else "treadle-worker-"
    assert srv.server.runs_inline == threads_take_turns()
    assert names and all(name.startswith(prefix) for name in names), names
    if srv.server.runs_inline:
        assert srv.server.pool.thread_count == 0
        assert srv.server.takeovers == 0


@pytest.mark.usefixtures("watcher")
def test_a_request_that_blocks_inline_hands_the_loop_to_the_standby(serve: Any) -> None:
    entered = threading.Event()
    release = threading.Event()
    ran_on: dict[str, str] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        ran_on[path] = threading.current_thread().name
        if path == "/block":
            entered.set()
            release.wait(TIMEOUT)
        else:
            release.set()
        start_response("200 OK", [])
        return [path.encode()]

    srv = serve(app, threaded=True, threads=4)
    with Client(srv.server.server_address) as blocked, \
            Client(srv.server.server_address) as other:
        blocked.send(encode("GET", "/block"))
        assert entered.wait(TIMEOUT)
        # Served only if another thread took the loop over: /block holds the first one.
        assert other.request(path="/release").body == b"/release"
        assert blocked.response().body == b"/block"
        # The blocked thread came back as the standby: the loop keeps serving.
        assert other.request(path="/after").body == b"/after"
    if srv.server.runs_inline:
        assert ran_on["/block"].startswith("treadle-loop-")
        assert srv.server.takeovers >= 1


@pytest.mark.usefixtures("watcher")
def test_the_loop_threads_end_with_the_server(serve: Any) -> None:
    srv = serve(thread_name, threaded=True)
    assert get(srv).status == 200
    srv.stop()
    loop_threads = [t for t in threading.enumerate() if t.name.startswith("treadle-loop-")]
    for thread in loop_threads:
        thread.join(TIMEOUT)
    assert not [t for t in loop_threads if t.is_alive()]


@pytest.mark.parametrize("watch", WATCHERS)
def test_the_watch_reports_a_request_seen_twice(watch: Any) -> None:
    beacon = array("q", (0, 0))
    seen: list[int] = []
    watcher = threading.Thread(target=lambda: seen.append(watch(beacon, 0.002)))
    watcher.start()
    for ticket in range(1, 2001):  # requests that start and end keep it watching
        beacon[0] = ticket
    beacon[0] = 2001  # one that never ends
    watcher.join(TIMEOUT)
    assert seen == [2001]


@pytest.mark.parametrize("watch", WATCHERS)
def test_the_watch_ends_when_asked(watch: Any) -> None:
    beacon = array("q", (2, 0))
    seen: list[int] = []
    watcher = threading.Thread(target=lambda: seen.append(watch(beacon, 0.002)))
    watcher.start()
    beacon[1] = 1
    watcher.join(TIMEOUT)
    assert seen == [-1]


@pytest.mark.skipif(speedups is None, reason="treadle._speedups was not built")
def test_the_c_watch_refuses_a_beacon_it_cannot_read() -> None:
    assert speedups is not None
    with pytest.raises(ValueError, match="two aligned int64"):
        speedups.watch_beacon(array("q", (0,)), 0.002)
    with pytest.raises(ValueError, match="interval"):
        speedups.watch_beacon(array("q", (0, 0)), 0.0)
    with pytest.raises(TypeError):
        speedups.watch_beacon([0, 0], 0.002)  # not a buffer


def threads_take_turns() -> bool:
    return treadle.server.threaded.parallelism() == 1


def test_the_standby_serves_the_rest_of_the_batch_a_blocked_request_came_in(
        serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # /block, /fast-1 and /fast-2 arrive while the loop is held, so its next poll reports
    # them together; /block then blocks inline, and the two behind it must not wait for it.
    held = threading.Event()
    hold = threading.Event()
    blocked = threading.Event()
    unblock = threading.Event()
    unblocked = threading.Event()
    watching = threading.Event()
    watch = treadle.server.threaded.watch_beacon

    def gated_watch(beacon: Any, interval: float) -> int:
        watching.wait(TIMEOUT)  # no takeover while /hold holds the loop
        return watch(beacon, interval)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/hold":
            held.set()
            hold.wait(TIMEOUT)
        elif path == "/block":
            blocked.set()
            unblock.wait(TIMEOUT)
            unblocked.set()
        start_response("200 OK", [])
        return [path.encode()]

    monkeypatch.setattr(treadle.server.threaded, "watch_beacon", gated_watch)
    srv = serve(app, threaded=True, threads=4)
    address = srv.server.server_address
    with Client(address) as holder, Client(address) as slow, Client(address) as one, \
            Client(address) as two:
        assert holder.request().status == 200  # every connection is accepted and parked
        for client in (slow, one, two):
            assert client.request().status == 200
        holder.send(encode("GET", "/hold"))
        assert held.wait(TIMEOUT)
        slow.send(encode("GET", "/block"))  # first ready, so first in the next batch
        one.send(encode("GET", "/fast-1"))
        two.send(encode("GET", "/fast-2"))
        hold.set()
        assert holder.response().body == b"/hold"
        if srv.server.runs_inline:
            assert blocked.wait(TIMEOUT)
        watching.set()
        assert one.response().body == b"/fast-1"
        assert two.response().body == b"/fast-2"
        assert not unblocked.is_set(), "the rest of the batch waited for the blocked request"
        unblock.set()
        assert slow.response().body == b"/block"


def test_after_a_takeover_requests_go_to_the_pool_for_a_while(
        serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(treadle.server.threaded, "BACKOFF", 60.0)
    app = BlockingThreadName()
    srv = serve(app, threaded=True, threads=4)
    with Client(srv.server.server_address) as blocked, \
            Client(srv.server.server_address) as other:
        blocked.send(encode("GET", "/block"))
        assert app.entered.wait(TIMEOUT)
        # Taken over (under the GIL) or not, these run on the pool: an app that has just
        # blocked the loop is not trusted with it again for BACKOFF seconds.
        names = [other.request().body.decode() for _ in range(5)]
        app.release.set()
        assert blocked.response().status == 200
        names += [other.request().body.decode() for _ in range(5)]
    assert all(name.startswith("treadle-worker-") for name in names), names
    if srv.server.runs_inline:
        assert srv.server.takeovers == 1


def test_a_takeover_takes_back_channels_whose_wake_up_the_stalled_thread_read(
        monkeypatch: pytest.MonkeyPatch, hand_backs: HandBacks) -> None:
    # A pool thread hands a channel back while the loop is busy; the loop's next poll reads
    # that wake-up together with a request that then blocks inline. The thread that takes
    # the loop over gets no wake-up of its own, yet must take the channel back: else its
    # connection waits for the loop's next sweep (an hour here, to make that a hang).
    in_pool = threading.Event()
    pool_release = threading.Event()
    gate = threading.Event()
    gated = threading.Event()
    resume = threading.Event()
    blocked = threading.Event()
    unblock = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path == "/pool":
            environ["wsgi.input"].read()
            in_pool.set()
            pool_release.wait(TIMEOUT)
        elif path == "/block":
            blocked.set()
            unblock.wait(TIMEOUT)
        start_response("200 OK", [])
        return [path.encode()]

    server = make_server("127.0.0.1", 0, app, threaded=True, threads=4)
    server._sweep_interval = 3600.0
    nudge = server.pool.nudge

    def gated_nudge(now: float) -> float:  # the loop's chore after each batch
        if gate.is_set() and not gated.is_set():
            gated.set()
            resume.wait(TIMEOUT)
        return nudge(now)

    monkeypatch.setattr(server.pool, "nudge", gated_nudge)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    address = server.server_address
    try:
        with Client(address) as pooled, Client(address) as nudger, Client(address) as slow:
            for client in (pooled, nudger, slow):  # accepted and parked
                assert client.request().status == 200
            # Expect: 100-continue always goes to the pool.
            pooled.send(encode("POST", "/pool", {"Expect": "100-continue"}, b"x"))
            assert in_pool.wait(TIMEOUT)
            gate.set()
            nudger.send(encode("GET", "/"))  # a batch, after which the loop waits in nudge
            assert gated.wait(TIMEOUT)
            pool_release.set()
            assert pooled.response("POST").body == b"/pool"
            assert hand_backs.done.wait(TIMEOUT)  # its wake-up is written, no loop read it
            slow.send(encode("GET", "/block"))  # ready with it in the loop's next poll
            resume.set()
            assert blocked.wait(TIMEOUT)
            assert nudger.response().status == 200
            # /block holds a loop thread; the handed-back connection is served all the same.
            assert pooled.request(path="/after").body == b"/after"
            unblock.set()
            assert slow.response().body == b"/block"
    finally:
        unblock.set()
        resume.set()
        server.shutdown()
        server.server_close()
        serving.join(TIMEOUT)


def test_a_pool_thread_waits_for_the_next_request_while_another_thread_is_parked(
        monkeypatch: pytest.MonkeyPatch, serve: Any, hand_backs: HandBacks) -> None:
    # Every request on the pool (as without the GIL), and a wait far longer than the test.
    monkeypatch.setattr(treadle.server.threaded, "parallelism", lambda: 2)
    monkeypatch.setattr(treadle.server.threaded, "READ_AHEAD_WAIT", 60.0)
    app = BlockingThreadName()
    srv = serve(app, threaded=True, threads=4)
    assert not srv.server.runs_inline
    with Client(srv.server.server_address) as first, \
            Client(srv.server.server_address) as second:
        first.send(encode("GET", "/block"))
        assert app.entered.wait(TIMEOUT)
        # No other thread parked while this one answers: its connection goes back at once.
        second_thread = second.request().body
        assert hand_backs.begun.wait(TIMEOUT)
        hand_backs.begun.clear()
        deadline = time.monotonic() + TIMEOUT
        while not srv.server.pool.has_parked():  # the second connection's thread parks
            assert time.monotonic() < deadline, "the pool thread never parked"
            time.sleep(0.001)
        app.release.set()
        first_thread = first.response().body
        assert first_thread != second_thread
        # Served only once /block's thread let go of the connection: by waiting for the
        # request and reading it itself, or by giving the connection back to the loop.
        assert first.request().body == first_thread
        assert not hand_backs.begun.is_set(), "the connection went back to the loop"
    assert hand_backs.begun.wait(TIMEOUT)  # the client's close ends the wait
