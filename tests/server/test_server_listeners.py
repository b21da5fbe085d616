"""Listening sockets and TLS contexts, checked on loopback only."""

from __future__ import annotations

import os
import socket
import ssl
import stat
from pathlib import Path

import pytest

from tls_files import CRYPTOGRAPHY_MISSING
from treadle.server.listeners import (
    create_listener,
    generate_adhoc_ssl_pair,
    load_ssl_context,
    unix_path,
)


def _ipv6_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_port_zero_binds_a_free_port() -> None:
    with create_listener("127.0.0.1", 0, backlog=8) as sock:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert sock.getblocking() is False


def test_listener_sets_tcp_nodelay() -> None:
    with create_listener("127.0.0.1", 0, backlog=8) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_port_in_use_error_says_how_to_fix_it() -> None:
    with create_listener("127.0.0.1", 0, backlog=8) as sock:
        port = sock.getsockname()[1]
        with pytest.raises(OSError, match=r"already in use.*another port"):
            create_listener("127.0.0.1", port, backlog=8)


def test_port_must_be_an_integer() -> None:
    with pytest.raises(TypeError, match="port must be an integer"):
        create_listener("127.0.0.1", "80", backlog=8)  # type: ignore[arg-type]


@pytest.mark.skipif(not _ipv6_available(), reason="this kernel has no IPv6 loopback")
def test_ipv6_loopback_is_bound_with_and_without_brackets() -> None:
    for host in ("::1", "[::1]"):
        with create_listener(host, 0, backlog=8) as sock:
            assert sock.family == socket.AF_INET6
            assert sock.getsockname()[0] == "::1"


def test_unix_prefixes_are_recognised() -> None:
    assert unix_path("unix:/tmp/a.sock") == "/tmp/a.sock"
    assert unix_path("unix:///tmp/a.sock") == "/tmp/a.sock"
    assert unix_path("127.0.0.1") is None


def test_unix_socket_replaces_a_stale_socket_file(tmp_path: Path) -> None:
    path = str(tmp_path / "app.sock")
    create_listener(f"unix:{path}", 0, backlog=8).close()
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    with create_listener(f"unix:{path}", 0, backlog=8) as sock:
        assert sock.family == socket.AF_UNIX
        assert sock.getsockname() == path


def test_unix_socket_never_removes_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("keep me")
    with pytest.raises(OSError, match="cannot bind the Unix socket"):
        create_listener(f"unix:{path}", 0, backlog=8)
    assert path.read_text() == "keep me"


def test_inherited_fd_is_adopted() -> None:
    original = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    original.bind(("127.0.0.1", 0))
    address = original.getsockname()
    fd = original.detach()
    with create_listener("ignored", 0, backlog=8, fd=fd) as sock:
        assert sock.fileno() == fd
        assert sock.getsockname() == address


def test_fd_that_is_not_a_socket_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError, match=f"fd={fd} is not an open socket"):
            create_listener("ignored", 0, backlog=8, fd=fd)
    finally:
        os.close(fd)


def test_ssl_context_passes_through() -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    assert load_ssl_context(context) is context
    assert load_ssl_context(None) is None


def test_bad_ssl_context_argument_is_explained() -> None:
    with pytest.raises(TypeError, match="ssl_context must be"):
        load_ssl_context(42)  # type: ignore[arg-type]


def test_missing_certificate_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="cannot load the certificate"):
        load_ssl_context((str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")))


def test_adhoc_certificate_names_localhost_and_loopback() -> None:
    x509 = pytest.importorskip("cryptography.x509", reason=CRYPTOGRAPHY_MISSING)

    cert, _ = generate_adhoc_ssl_pair()
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}


def test_adhoc_context_is_a_server_context() -> None:
    pytest.importorskip("cryptography", reason=CRYPTOGRAPHY_MISSING)
    context = load_ssl_context("adhoc")
    assert isinstance(context, ssl.SSLContext)
    assert context.protocol == ssl.PROTOCOL_TLS_SERVER


def test_adhoc_without_cryptography_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(RuntimeError, match=r"pip install 'treadle\[adhoc\]'"):
        load_ssl_context("adhoc")
