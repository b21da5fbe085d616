"""Serving over TLS (tuple, SSLContext, adhoc), Unix sockets, inherited fds and IPv6."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from wire import Client, encode

from tls_files import CRYPTOGRAPHY_MISSING, write_self_signed


def scheme_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({k: environ[k] for k in (
        "wsgi.url_scheme", "REMOTE_ADDR", "SERVER_NAME", "SERVER_PORT")}).encode()]


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return write_self_signed(tmp_path_factory.mktemp("tls"))


def verifying_client(cert_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cert_file)


def unverified_client() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.mark.parametrize("threaded", [False, True])
def test_tls_with_a_cert_and_key_tuple(serve: Any, cert_files: tuple[str, str],
                                       threaded: bool) -> None:
    srv = serve(scheme_app, ssl_context=cert_files, threaded=threaded)
    assert srv.url.startswith("https://")
    with Client(srv.server.server_address, tls=verifying_client(cert_files[0])) as client:
        for _ in range(3):
            assert json.loads(client.request().body)["wsgi.url_scheme"] == "https"


def test_tls_with_an_ssl_context(serve: Any, cert_files: tuple[str, str]) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert_files)
    srv = serve(scheme_app, ssl_context=context, threaded=True)
    with Client(srv.server.server_address, tls=verifying_client(cert_files[0])) as client:
        assert client.request().status == 200
        client.send(encode("POST", "/", body=b"x" * 100000))
        assert client.response().status == 200


def test_tls_adhoc_certificate(serve: Any) -> None:
    x509 = pytest.importorskip("cryptography.x509", reason=CRYPTOGRAPHY_MISSING)

    srv = serve(scheme_app, ssl_context="adhoc")
    with Client(srv.server.server_address, tls=unverified_client()) as client:
        assert json.loads(client.request().body)["wsgi.url_scheme"] == "https"
        der = client.sock.getpeercert(binary_form=True)  # type: ignore[attr-defined]
    cert = x509.load_der_x509_certificate(der)
    assert cert.subject == cert.issuer  # self-signed


def test_tls_handshake_does_not_block_other_clients(serve: Any, cert_files: tuple[str, str]) -> None:
    srv = serve(scheme_app, ssl_context=cert_files)
    address = srv.server.server_address
    with socket.create_connection(address, timeout=5) as stalled:
        stalled.send(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
        with Client(address, tls=verifying_client(cert_files[0])) as client:
            assert client.request().status == 200


def test_plain_http_to_a_tls_port_is_dropped(serve: Any, cert_files: tuple[str, str]) -> None:
    srv = serve(scheme_app, ssl_context=cert_files)
    with Client(srv.server.server_address) as client:
        client.send(encode("GET", "/"))
        assert client.closed_by_server()
    with Client(srv.server.server_address, tls=verifying_client(cert_files[0])) as client:
        assert client.request().status == 200


def test_file_wrapper_falls_back_to_reading_under_tls(serve: Any, cert_files: tuple[str, str],
                                                      tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"0123456789" * 5000)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "50000")])
        return environ["wsgi.file_wrapper"](path.open("rb"))

    srv = serve(app, ssl_context=cert_files)
    with Client(srv.server.server_address, tls=verifying_client(cert_files[0])) as client:
        assert client.request().body == b"0123456789" * 5000
        assert client.request().body == b"0123456789" * 5000


@pytest.mark.parametrize("threaded", [False, True])
def test_unix_socket(serve: Any, tmp_path: Path, threaded: bool) -> None:
    path = str(tmp_path / "app.sock")
    srv = serve(scheme_app, host=f"unix:{path}", threaded=threaded)
    with Client(path) as client:
        env = json.loads(client.request().body)
    assert env["REMOTE_ADDR"] == "<local>"
    assert env["SERVER_NAME"] == "localhost"
    srv.stop()
    assert not Path(path).exists()


def test_inherited_fd(serve: Any) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    address = sock.getsockname()
    srv = serve(scheme_app, fd=sock.detach())
    assert srv.server.server_address == address
    with Client(address) as client:
        assert client.request().status == 200


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this kernel has no IPv6 loopback")
def test_ipv6_loopback(serve: Any) -> None:
    srv = serve(scheme_app, host="::1")
    assert srv.url.startswith("http://[::1]:")
    with Client(srv.server.server_address[:2]) as client:
        env = json.loads(client.request().body)
    assert env["REMOTE_ADDR"] == "::1"
    assert env["SERVER_NAME"] == "::1"


def test_many_tls_clients_at_once(serve: Any, cert_files: tuple[str, str]) -> None:
    srv = serve(scheme_app, ssl_context=cert_files, threaded=True)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with Client(srv.server.server_address, tls=verifying_client(cert_files[0])) as c:
                assert c.request().status == 200
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
