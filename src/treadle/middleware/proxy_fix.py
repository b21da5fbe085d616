"""ProxyFix: take the client's address, scheme, host, port and prefix from X-Forwarded-* headers.

Each header is trusted for exactly the configured number of proxies, counted from
the right (the value the nearest proxy appended). A header with fewer values than
that was forged or bypassed a proxy, so it is ignored. The original values are
kept in ``environ["treadle.proxy_fix.orig"]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from treadle.httputil import parse_list_header

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ProxyFix"]

ORIG_KEY = "treadle.proxy_fix.orig"
_ORIG_KEYS = (
    "REMOTE_ADDR",
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
)


class ProxyFix:
    """Trust ``x_for``/``x_proto``/``x_host``/``x_port``/``x_prefix`` proxies for each header.

    Set each count to the number of proxies in front of the app that set that header;
    0 ignores the header. Trusting more hops than exist lets clients spoof the value.
    """

    def __init__(
        self,
        app: WSGIApplication,
        x_for: int = 1,
        x_proto: int = 1,
        x_host: int = 0,
        x_port: int = 0,
        x_prefix: int = 0,
    ) -> None:
        for name, value in (
            ("x_for", x_for),
            ("x_proto", x_proto),
            ("x_host", x_host),
            ("x_port", x_port),
            ("x_prefix", x_prefix),
        ):
            if value < 0:
                raise ValueError(f"ProxyFix({name}={value}): a hop count cannot be negative")
        self.app = app
        self.x_for = x_for
        self.x_proto = x_proto
        self.x_host = x_host
        self.x_port = x_port
        self.x_prefix = x_prefix

    @staticmethod
    def _trusted_value(trusted: int, header: str | None) -> str | None:
        """The value the ``trusted``-th proxy from the right added, if there are that many."""
        if not trusted or not header:
            return None
        values = parse_list_header(header)
        if len(values) < trusted:
            return None
        return values[-trusted] or None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[ORIG_KEY] = {key: environ.get(key) for key in _ORIG_KEYS}

        client = self._trusted_value(self.x_for, environ.get("HTTP_X_FORWARDED_FOR"))
        if client:
            environ["REMOTE_ADDR"] = client

        proto = self._trusted_value(self.x_proto, environ.get("HTTP_X_FORWARDED_PROTO"))
        if proto and proto.lower() in ("http", "https", "ws", "wss"):
            environ["wsgi.url_scheme"] = proto.lower()

        host = self._trusted_value(self.x_host, environ.get("HTTP_X_FORWARDED_HOST"))
        if host and not any(char in host for char in "/?#@ \\"):
            environ["HTTP_HOST"] = host
            name, port = _split_host(host)
            environ["SERVER_NAME"] = name
            if port:
                environ["SERVER_PORT"] = port

        port = self._trusted_value(self.x_port, environ.get("HTTP_X_FORWARDED_PORT"))
        if port and port.isascii() and port.isdigit():
            current = environ.get("HTTP_HOST")
            if current:
                environ["HTTP_HOST"] = f"{_split_host(current)[0]}:{port}"
            environ["SERVER_PORT"] = port

        prefix = self._trusted_value(self.x_prefix, environ.get("HTTP_X_FORWARDED_PREFIX"))
        if prefix:
            environ["SCRIPT_NAME"] = prefix.rstrip("/")

        return self.app(environ, start_response)


def _split_host(host: str) -> tuple[str, str | None]:
    """``example.com:8080`` -> ``("example.com", "8080")``; IPv6 brackets are kept."""
    if host.endswith("]"):
        return host, None
    name, sep, port = host.rpartition(":")
    if not sep or "]" in port or (":" in name and not name.startswith("[")):
        return host, None
    return name, port
