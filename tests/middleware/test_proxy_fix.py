"""ProxyFix: exactly the configured hops are trusted, from the right of each header."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from treadle.middleware.proxy_fix import ORIG_KEY, ProxyFix
from treadle.wrappers import Request


def base_environ(**headers: str) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/page",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "internal",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "internal:8000",
        "REMOTE_ADDR": "10.0.0.1",
        "wsgi.url_scheme": "http",
    }
    for name, value in headers.items():
        environ["HTTP_X_FORWARDED_" + name.upper()] = value
    return environ


def through(environ: dict[str, Any], **counts: int) -> dict[str, Any]:
    """Run ``environ`` through ProxyFix and return what the app saw."""
    seen: dict[str, Any] = {}

    def app(env: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.update(env)
        start_response("200 OK", [])
        return []

    ProxyFix(app, **counts)(environ, lambda status, headers: None)
    return seen


def test_one_trusted_hop_takes_the_rightmost_address() -> None:
    seen = through(base_environ(For="6.6.6.6, 1.2.3.4"))
    assert seen["REMOTE_ADDR"] == "1.2.3.4"


def test_two_trusted_hops_take_the_second_from_the_right() -> None:
    seen = through(base_environ(For="6.6.6.6, 1.2.3.4, 10.0.0.2"), x_for=2)
    assert seen["REMOTE_ADDR"] == "1.2.3.4"


def test_fewer_values_than_trusted_hops_are_ignored() -> None:
    seen = through(base_environ(For="1.2.3.4"), x_for=2)
    assert seen["REMOTE_ADDR"] == "10.0.0.1"


def test_zero_hops_ignore_the_header() -> None:
    assert through(base_environ(For="1.2.3.4"), x_for=0)["REMOTE_ADDR"] == "10.0.0.1"


def test_proto_sets_the_scheme() -> None:
    assert through(base_environ(Proto="https"))["wsgi.url_scheme"] == "https"


def test_unknown_proto_is_ignored() -> None:
    assert through(base_environ(Proto="gopher"))["wsgi.url_scheme"] == "http"


def test_host_is_ignored_by_default() -> None:
    assert through(base_environ(Host="evil.test"))["HTTP_HOST"] == "internal:8000"


def test_trusted_host_sets_host_name_and_port() -> None:
    seen = through(base_environ(Host="example.com:8443"), x_host=1)
    assert seen["HTTP_HOST"] == "example.com:8443"
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"]) == ("example.com", "8443")


def test_trusted_host_that_is_malformed_is_ignored() -> None:
    assert through(base_environ(Host="a/b@c"), x_host=1)["HTTP_HOST"] == "internal:8000"


def test_trusted_port_replaces_the_host_port() -> None:
    seen = through(base_environ(Port="443"), x_port=1)
    assert seen["HTTP_HOST"] == "internal:443" and seen["SERVER_PORT"] == "443"


def test_non_numeric_port_is_ignored() -> None:
    assert through(base_environ(Port="https"), x_port=1)["SERVER_PORT"] == "8000"


def test_trusted_port_keeps_ipv6_host() -> None:
    environ = base_environ(Port="8443")
    environ["HTTP_HOST"] = "[::1]:8000"
    assert through(environ, x_port=1)["HTTP_HOST"] == "[::1]:8443"


def test_trusted_prefix_sets_script_name() -> None:
    assert through(base_environ(Prefix="/app/"), x_prefix=1)["SCRIPT_NAME"] == "/app"


def test_originals_are_kept() -> None:
    seen = through(base_environ(For="1.2.3.4", Proto="https"))
    assert seen[ORIG_KEY]["REMOTE_ADDR"] == "10.0.0.1"
    assert seen[ORIG_KEY]["wsgi.url_scheme"] == "http"


def test_request_sees_the_forwarded_values() -> None:
    environ = base_environ(For="1.2.3.4", Proto="https", Host="example.com", Prefix="/app")
    seen = through(environ, x_host=1, x_prefix=1)
    request = Request(seen)
    assert request.remote_addr == "1.2.3.4"
    assert request.url == "https://example.com/app/page"


def test_negative_hop_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        ProxyFix(lambda e, s: [], x_for=-1)
