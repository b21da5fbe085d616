"""Listening sockets (TCP v4/v6, Unix paths, inherited fds) and the TLS context.

Everything that turns a user's address or certificate arguments into a ready
socket or :class:`ssl.SSLContext` lives here, with errors that say how to fix them.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import stat
import sys
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.x509 import Certificate

__all__ = [
    "SSLContextArg",
    "create_listener",
    "generate_adhoc_ssl_context",
    "generate_adhoc_ssl_pair",
    "load_ssl_context",
    "unix_path",
]

SSLContextArg = ssl.SSLContext | tuple[str, str] | str
"""What ``ssl_context=`` accepts: a context, a ``(cert, key)`` pair of paths, or ``"adhoc"``."""

# Linux copies TCP_NODELAY from the listener to each accepted socket; elsewhere
# the engines set it per connection.
NODELAY_INHERITED = sys.platform.startswith("linux")


def unix_path(host: str) -> str | None:
    """The socket path if ``host`` names a Unix socket (``unix:/p`` or ``unix:///p``)."""
    if not host.startswith("unix:"):
        return None
    path = host[5:]
    if path.startswith("//"):
        path = path[2:]
    if not path:
        raise ValueError("a Unix socket host needs a path, e.g. 'unix:/tmp/app.sock'")
    return path


def create_listener(host: str, port: int, *, backlog: int, fd: int | None = None) -> socket.socket:
    """A bound, listening, nonblocking socket for ``host:port``, a Unix path, or ``fd``."""
    if fd is not None:
        sock = _adopt(fd)
    elif (path := unix_path(host)) is not None:
        sock = _bind_unix(path)
    else:
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"port must be an integer, got {port!r}")
        sock = _bind_tcp(host, port)
    try:
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _adopt(fd: int) -> socket.socket:
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise OSError(exc.errno, f"fd={fd} is not an open socket: {exc.strerror}") from None
    if sock.type != socket.SOCK_STREAM:
        sock.detach()
        raise ValueError(f"fd={fd} is not a stream socket; pass a bound TCP or Unix socket")
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _bind_unix(path: str) -> socket.socket:
    # A socket file left by a crashed server would make bind fail; anything
    # that is not a socket is the user's file and stays.
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot bind the Unix socket {path!r}: {exc.strerror}") from None
    return sock


def _bind_tcp(host: str, port: int) -> socket.socket:
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host or None, port, family, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve the host {host!r} to bind to: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(
                exc.errno,
                f"address {host}:{port} is already in use by another program; stop that "
                "program or choose another port (port 0 picks a free one)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise OSError(
                exc.errno, f"{host} is not an address of this machine; bind to one of its "
                "addresses, 127.0.0.1 for local use or 0.0.0.0 for every interface") from None
        raise
    return sock


def load_ssl_context(arg: SSLContextArg | None) -> ssl.SSLContext | None:
    """Turn ``ssl_context=`` into a server-side context (``None`` stays ``None``)."""
    if arg is None or isinstance(arg, ssl.SSLContext):
        return arg
    if arg == "adhoc":
        return generate_adhoc_ssl_context()
    if isinstance(arg, tuple) and len(arg) == 2:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert, key = arg
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise OSError(f"cannot load the certificate {cert!r} with key {key!r}: {exc}") from None
        return context
    raise TypeError(
        "ssl_context must be an ssl.SSLContext, a (cert_file, key_file) tuple "
        f"or 'adhoc', got {arg!r}")


def generate_adhoc_ssl_pair(cn: str = "localhost") -> tuple[Certificate, EllipticCurvePrivateKey]:
    """A throwaway self-signed certificate and key for ``cn``, 127.0.0.1 and ::1."""
    try:
        import ipaddress
        from datetime import UTC, datetime, timedelta

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise RuntimeError(
            "ssl_context='adhoc' needs the cryptography package; install it with "
            "pip install 'treadle[adhoc]', or pass a (cert_file, key_file) tuple") from None
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "treadle ad-hoc certificate"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])
    now = datetime.now(UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName(cn),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def generate_adhoc_ssl_context() -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate; browsers will warn."""
    cert, key = generate_adhoc_ssl_pair()
    from cryptography.hazmat.primitives import serialization

    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain reads only files; the file lives just long enough to be read.
    with tempfile.TemporaryDirectory(prefix="treadle-adhoc-") as tmp:
        path = os.path.join(tmp, "adhoc.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        context.load_cert_chain(path)
    return context

