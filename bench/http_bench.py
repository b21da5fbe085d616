"""The sans-IO HTTP/1.1 layer: µs per request cycle, next to the peers' request parsers.

`python bench/http_bench.py` prints µs per cycle; `main()` returns the same figures
for bench/run.py. A treadle cycle is receive_data, the request events, the
response head, one body part, the end and start_next_cycle; the peers' figures
parse the request only (gunicorn's and waitress's parsers), so they do less.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from gunicorn.config import Config as GunicornConfig
from gunicorn.http.parser import RequestParser as GunicornParser
from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser as WaitressParser

from treadle.http.connection import Connection
from treadle.http.events import NEED_DATA, PAUSED

LOOPS = 5_000
REPEATS = 7

REQUESTS = {
    "keep-alive GET": (
        b"GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk/4.2\r\n"
        b"Accept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n"),
    "POST, Content-Length": (
        b"POST /form HTTP/1.1\r\nHost: localhost:8080\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\n"
        b"hello=world"),
    "POST, chunked": (
        b"POST /upload HTTP/1.1\r\nHost: localhost:8080\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
}
RESPONSE_HEADERS = [(b"Content-Type", b"text/plain; charset=utf-8"), (b"Content-Length", b"13"),
                    (b"Server", b"treadle"), (b"Date", b"Sun, 06 Nov 1994 08:49:37 GMT")]


def treadle_cycle(request: bytes) -> Callable[[], None]:
    conn = Connection()

    def cycle() -> None:
        conn.receive_data(request)
        while conn.next_event() is not PAUSED:
            pass
        conn.send_response(200, b"OK", RESPONSE_HEADERS)
        conn.send_data(b"Hello, World!")
        conn.send_end()
        conn.start_next_cycle()

    return cycle


def gunicorn_parse(request: bytes) -> Callable[[], None]:
    config = GunicornConfig()

    def parse() -> None:
        message = next(GunicornParser(config, iter([request]), ("127.0.0.1", 1)))
        message.body.read()

    return parse


def waitress_parse(request: bytes) -> Callable[[], None]:
    adjustments = Adjustments()

    def parse() -> None:
        parser = WaitressParser(adjustments)
        data = request
        while data and not parser.completed:
            data = data[parser.received(data):]
        assert parser.completed and not parser.error
        parser.get_body_stream().read()

    return parse


def _us(fn: Callable[[], None]) -> float:
    fn()  # fail loudly before timing
    return min(timeit.repeat(fn, number=LOOPS, repeat=REPEATS)) / LOOPS * 1e6


def main() -> dict[str, dict[str, float]]:
    """µs per request, keyed by request kind, for treadle's full cycle and each peer's parse."""
    assert Connection().next_event() is NEED_DATA
    makers = {"treadle cycle": treadle_cycle, "gunicorn parse": gunicorn_parse,
              "waitress parse": waitress_parse}
    return {name: {kind: round(_us(make(data)), 2) for kind, data in REQUESTS.items()}
            for name, make in makers.items()}


if __name__ == "__main__":
    results = main()
    width = max(map(len, REQUESTS))
    print(f"{'µs per request':<{width}}" + "".join(f"  {name:>15}" for name in results))
    for kind in REQUESTS:
        print(f"{kind:<{width}}" + "".join(f"  {results[name][kind]:>15.2f}" for name in results))
