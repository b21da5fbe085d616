"""The request side over a real socket: keep-alive, pipelining, bodies, limits and timeouts."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
from wire import Client, encode, get

from treadle.http.limits import Limits
from treadle.server.base import BODY_AHEAD


def echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Reply with the method, path and the whole request body."""
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} ".encode(), body]


def ignore_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [environ["PATH_INFO"].encode()]


@pytest.fixture(params=["single", "threaded"])
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"threaded": request.param == "threaded"}


def test_keep_alive_serves_many_requests_on_one_connection(serve: Any, mode: Any) -> None:
    srv = serve(echo, **mode)
    with Client(srv.server.server_address) as client:
        for i in range(5):
            resp = client.request("GET", f"/{i}")
            assert resp.body == f"GET /{i} ".encode()
            assert not resp.will_close


def test_pipelined_requests_are_answered_in_order(serve: Any, mode: Any) -> None:
    srv = serve(echo, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"".join([encode("GET", "/1"), encode("POST", "/2", body=b"two"),
                              encode("GET", "/3")]))
        assert client.response().body == b"GET /1 "
        assert client.response().body == b"POST /2 two"
        assert client.response().body == b"GET /3 "


def test_chunked_request_body_is_dechunked(serve: Any, mode: Any) -> None:
    srv = serve(echo, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert client.response().body == b"POST /c hello world"
        assert client.request("GET", "/after").body == b"GET /after "


def test_body_sent_in_slow_pieces_is_read_whole(serve: Any, mode: Any) -> None:
    srv = serve(echo, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nab")
        time.sleep(0.05)  # let the server block on the rest of the body
        client.send(b"cdef")
        assert client.response().body == b"POST /slow abcdef"


def test_100_continue_is_sent_on_first_read(serve: Any, mode: Any) -> None:
    srv = serve(echo, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                    b"Expect: 100-continue\r\n\r\n")
        interim = client.sock.recv(64)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        client.send(b"body")
        assert client.response().body == b"POST /e body"


def test_no_100_continue_when_app_ignores_the_body(serve: Any, mode: Any) -> None:
    srv = serve(ignore_body, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"POST /skip HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                    b"Expect: 100-continue\r\n\r\n")
        resp = client.response()
        assert resp.status == 200 and resp.body == b"/skip"
        assert resp.header("Connection") == "close"
        assert client.closed_by_server()


def test_wsgi_input_never_reads_past_the_body(serve: Any, mode: Any) -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        stream = environ["wsgi.input"]
        seen.append(stream.read(100))
        seen.append(stream.read())
        seen.append(stream.readline())
        start_response("200 OK", [])
        return [b"ok"]

    srv = serve(app, **mode)
    with Client(srv.server.server_address) as client:
        client.send(encode("POST", "/a", body=b"abc") + encode("GET", "/b"))
        assert client.response().body == b"ok"
        assert client.response().body == b"ok"
    assert seen == [b"abc", b"", b"", b"", b"", b""]


def test_wsgi_input_readline_and_iteration(serve: Any, mode: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        stream = environ["wsgi.input"]
        first = stream.readline()
        rest = list(stream)
        start_response("200 OK", [])
        return [repr([first, *rest]).encode()]

    srv = serve(app, **mode)
    with Client(srv.server.server_address) as client:
        resp = client.request("POST", "/", body=b"l1\nl2\nl3")
    assert resp.body == repr([b"l1\n", b"l2\n", b"l3"]).encode()


def test_unread_small_body_is_drained_not_parsed_as_a_request(serve: Any, mode: Any) -> None:
    srv = serve(ignore_body, **mode)
    smuggled = encode("GET", "/smuggled")
    with Client(srv.server.server_address) as client:
        client.send(encode("POST", "/first", body=smuggled) + encode("GET", "/second"))
        assert client.response().body == b"/first"
        assert client.response().body == b"/second"


def test_unread_large_body_closes_the_connection(serve: Any, mode: Any) -> None:
    srv = serve(ignore_body, max_drain=1024, **mode)
    with Client(srv.server.server_address) as client:
        # More than the loop collects before calling the app, far less than declared.
        client.send(b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n"
                    + b"x" * (BODY_AHEAD + 2000))
        resp = client.response()
        assert resp.body == b"/big"
        assert resp.header("Connection") == "close"
        assert client.closed_by_server()


def test_unread_chunked_body_beyond_the_drain_limit_closes(serve: Any, mode: Any) -> None:
    srv = serve(ignore_body, max_drain=10, **mode)
    with Client(srv.server.server_address) as client:
        # The loop collects the first chunk before calling the app; the second, sent
        # after the response, is more than the server will read to keep the connection.
        client.send(b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + b"%x\r\n" % BODY_AHEAD + b"x" * BODY_AHEAD + b"\r\n")
        assert client.response().body == b"/c"
        client.send(b"20\r\n" + b"x" * 32 + b"\r\n0\r\n\r\n" + encode("GET", "/next"))
        assert client.closed_by_server()


def test_unread_small_body_keeps_the_connection(serve: Any, mode: Any) -> None:
    # The whole body arrived before the app ran, so nothing is left to read past max_drain.
    srv = serve(ignore_body, max_drain=10, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"20\r\n" + b"x" * 32 + b"\r\n0\r\n\r\n" + encode("GET", "/next"))
        assert client.response().body == b"/c"
        assert client.response().body == b"/next"


def test_body_over_max_body_is_413(serve: Any, mode: Any) -> None:
    srv = serve(echo, limits=Limits(max_body=10), **mode)
    with Client(srv.server.server_address) as client:
        resp = client.request("POST", "/", body=b"x" * 11)
    assert resp.status == 413


def test_malformed_request_gets_400_and_the_server_keeps_serving(serve: Any, mode: Any) -> None:
    srv = serve(echo, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n")
        assert client.response().status == 400
        assert client.closed_by_server()
    assert get(srv, "/ok").status == 200


def test_bad_request_after_a_good_one_on_the_same_connection(serve: Any, mode: Any) -> None:
    srv = serve(echo, **mode)
    with Client(srv.server.server_address) as client:
        client.send(encode("GET", "/good") + b"NOT HTTP AT ALL\r\n\r\n")
        assert client.response().body == b"GET /good "
        assert client.response().status == 400


def test_client_disconnect_mid_response_does_not_kill_the_server(serve: Any, mode: Any) -> None:
    stopped = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        if environ["PATH_INFO"] != "/stream":
            return [b"still serving"]

        def body() -> Any:
            try:
                for _ in range(10000):
                    yield b"x" * 65536
            finally:
                stopped.set()
        return body()

    srv = serve(app, **mode)
    client = Client(srv.server.server_address)
    client.send(encode("GET", "/stream"))
    client.sock.recv(1000)
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()  # a reset mid-stream
    assert stopped.wait(10)
    assert get(srv).body == b"still serving"


def test_max_keepalive_requests_closes_after_the_last(serve: Any, mode: Any) -> None:
    srv = serve(echo, max_keepalive_requests=2, **mode)
    with Client(srv.server.server_address) as client:
        assert client.request().header("Connection") is None
        last = client.request()
        assert last.header("Connection") == "close"
        assert client.closed_by_server()


def test_idle_connection_is_closed_after_keepalive_timeout(serve: Any, mode: Any) -> None:
    srv = serve(echo, keepalive_timeout=0.2, **mode)
    with Client(srv.server.server_address) as client:
        assert client.request().status == 200
        assert client.closed_by_server()  # blocks until the server closes (bounded by TIMEOUT)


def test_slow_request_head_gets_408(serve: Any, mode: Any) -> None:
    srv = serve(echo, header_timeout=0.2, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"GET / HTTP/1.1\r\nHost:")
        resp = client.response()
    assert resp.status == 408


def test_silent_connection_is_closed_after_header_timeout(serve: Any, mode: Any) -> None:
    srv = serve(echo, header_timeout=0.2, **mode)
    with Client(srv.server.server_address) as client:
        assert client.closed_by_server()


def test_stalled_body_times_out_with_408(serve: Any, mode: Any) -> None:
    srv = serve(echo, body_timeout=0.2, **mode)
    with Client(srv.server.server_address) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        assert client.response().status == 408


def test_max_connections_pauses_accepting_until_one_closes(serve: Any, mode: Any) -> None:
    srv = serve(echo, max_connections=2, **mode)
    address = srv.server.server_address
    first, second = Client(address), Client(address)
    assert first.request().status == 200
    assert second.request().status == 200
    third = Client(address, timeout=0.3)  # connects (kernel backlog) but is not served yet
    third.send(encode("GET", "/third"))
    with pytest.raises(TimeoutError):
        third.sock.recv(1)
    first.close()
    third.sock.settimeout(5)
    assert third.response().body == b"GET /third "
    second.close()
    third.close()


def test_large_response_waits_for_a_slow_reader(serve: Any, mode: Any) -> None:
    big = bytes(range(256)) * 32768  # 8 MiB: far more than the socket buffers hold

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [big]

    srv = serve(app, **mode)
    with Client(srv.server.server_address) as client:
        assert client.request().body == big


def test_client_that_stops_reading_is_dropped_after_body_timeout(serve: Any) -> None:
    closed = threading.Event()

    class Body:
        def __iter__(self) -> Any:
            yield b"x" * (8 << 20)

        def close(self) -> None:
            closed.set()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        return Body() if environ["PATH_INFO"] == "/big" else [b"next"]

    srv = serve(app, body_timeout=0.3)  # single-threaded: a stuck write would stall everyone
    with Client(srv.server.server_address) as stuck:
        stuck.send(encode("GET", "/big"))
        assert closed.wait(10)
        assert get(srv, "/next").body == b"next"


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while data := sock.recv(65536):
        received += data
    return received


def test_a_client_that_asked_to_close_is_closed_at_once(serve: Any, mode: Any) -> None:
    # It sent nothing more, so a plain close sends the whole answer: no lingering.
    srv = serve(echo, **mode)
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(encode("GET", "/bye", {"Connection": "close"}))
        raw = read_until_closed(sock)
        assert raw.startswith(b"HTTP/1.1 200 ") and raw.endswith(b"GET /bye ")
        assert not srv.server._channels  # gone while our side is still open


def test_a_client_that_asked_to_close_is_closed_at_once_when_the_app_reads_nothing(
        serve: Any, mode: Any) -> None:
    srv = serve(ignore_body, **mode)
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(encode("GET", "/bye", {"Connection": "close"}))
        assert read_until_closed(sock).endswith(b"/bye")
        assert not srv.server._channels


def test_requests_sent_after_asking_to_close_are_not_served(serve: Any, mode: Any) -> None:
    srv = serve(echo, **mode)
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(encode("GET", "/bye", {"Connection": "close"}) + encode("GET", "/again"))
        raw = read_until_closed(sock)
    assert raw.count(b"HTTP/1.1 ") == 1 and raw.endswith(b"GET /bye ")
