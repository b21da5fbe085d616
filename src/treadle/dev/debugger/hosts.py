"""Which Host headers may drive the console: loopback names and addresses, plus a trust list.

The check stops DNS rebinding: a page on evil.example that resolves to 127.0.0.1
still sends `Host: evil.example`, so it cannot reach the console.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def split_host(host: str) -> str:
    """The host name or address of a Host header, without port, brackets or trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def is_local(host: str) -> bool:
    """True for localhost, *.localhost and loopback addresses."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_is_trusted(header: str | None, trusted_hosts: Iterable[str] = ()) -> bool:
    """True if a request with this Host header may use the console.

    Entries of `trusted_hosts` match exactly; one starting with a dot also matches
    its subdomains (".example.test" matches "a.example.test" and "example.test").
    """
    if not header:
        return False
    host = split_host(header)
    if not host:
        return False
    if is_local(host):
        return True
    for entry in trusted_hosts:
        if entry.startswith("."):
            suffix = entry.lower().rstrip(".")
            if host == suffix[1:] or host.endswith(suffix):
                return True
        elif host == split_host(entry):
            return True
    return False
