"""``make_server`` and ``run_simple``: Werkzeug's names and defaults on treadle's engines.

``make_server`` picks the engine (single-threaded, threaded, or pre-forked
workers) and builds it on a fresh or inherited listening socket; ``run_simple``
adds the app wrappers, the startup lines and graceful stops on SIGTERM and Ctrl+C.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterable
from typing import Any

from treadle.server.base import BaseServer, WSGIApplication
from treadle.server.config import WORKER_OPTIONS, ServerConfig
from treadle.server.handler import WSGIRequestHandler, logger
from treadle.server.listeners import SSLContextArg, create_listener, load_ssl_context, unix_path
from treadle.server.loader import check_app_spec, load_app
from treadle.server.prefork import Supervisor
from treadle.server.single import SingleThreadedServer
from treadle.server.threaded import ThreadedServer

__all__ = ["make_server", "run_simple"]


def make_server(
    host: str,
    port: int,
    app: WSGIApplication | str,
    threaded: bool = False,
    processes: int = 1,
    request_handler: type[WSGIRequestHandler] | None = None,
    passthrough_errors: bool = False,
    ssl_context: SSLContextArg | None = None,
    fd: int | str | None = None,
    **options: Any,
) -> BaseServer | Supervisor:
    """Bind ``host:port`` (port 0: a free port) and return a server ready to ``serve_forever()``.

    ``threaded=True`` runs requests on a bounded thread pool; ``processes=N``
    forks N workers, each threaded when ``threads=`` is above 1. ``options``
    are :class:`ServerConfig` and :class:`Limits` fields (``threads``,
    ``backlog``, timeouts, ``max_body``...). ``host`` may be ``"unix:/path"``.
    ``app`` may be an import string (``"module:app"``): with ``processes=N``
    each worker imports it after the fork, so a reload (SIGHUP) runs new code.
    ``fd`` serves on an inherited listening socket; ``fd="systemd"`` takes the
    one systemd socket activation passed (``LISTEN_FDS``).
    """
    if threaded and processes > 1:
        raise ValueError(
            "threaded=True cannot be combined with processes > 1; for threaded worker "
            "processes pass processes=N with threads=T")
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be an integer of at least 1, got {processes!r}")
    config = ServerConfig.from_options(options)
    if processes == 1:
        ignored = [name for name in WORKER_OPTIONS if options.get(name)]
        if ignored:
            logger.warning("%s only act on worker processes (processes=N); a single process "
                           "has nothing to replace it, so they are ignored", ", ".join(ignored))
        if isinstance(app, str):
            app = load_app(app)
    elif isinstance(app, str):
        check_app_spec(app)  # the workers import it; the supervisor must not
    context = load_ssl_context(ssl_context)
    raise_fd_limit()
    if fd == "systemd":
        fd = systemd_listen_fd()
    if isinstance(fd, str):
        raise ValueError(f"fd must be a file descriptor number or 'systemd', got {fd!r}")
    listener = create_listener(host, port, backlog=config.backlog, fd=fd)
    path = unix_path(host) if fd is None else None
    if processes > 1:
        engine: type[BaseServer] = (
            ThreadedServer if options.get("threads", 1) > 1 else SingleThreadedServer)
        server: BaseServer | Supervisor = Supervisor(
            listener, app, workers=processes, engine=engine, config=config,
            request_handler=request_handler, ssl_context=context,
            passthrough_errors=passthrough_errors)
    else:
        assert not isinstance(app, str)
        engine = ThreadedServer if threaded else SingleThreadedServer
        server = engine(listener, app, config=config, request_handler=request_handler,
                        ssl_context=context, passthrough_errors=passthrough_errors)
    server.unix_path = path
    return server


def run_simple(
    hostname: str,
    port: int,
    application: WSGIApplication | str,
    use_reloader: bool = False,
    use_debugger: bool = False,
    use_evalex: bool = True,
    extra_files: Iterable[str] | None = None,
    exclude_patterns: Iterable[str] | None = None,
    reloader_interval: int = 1,
    reloader_type: str = "auto",
    threaded: bool = False,
    processes: int = 1,
    request_handler: type[WSGIRequestHandler] | None = None,
    static_files: dict[str, str | tuple[str, str]] | None = None,
    passthrough_errors: bool = False,
    ssl_context: SSLContextArg | None = None,
    **options: Any,
) -> None:
    """Serve ``application`` until Ctrl+C or SIGTERM, logging where it listens.

    The arguments are Werkzeug's; ``options`` are :class:`ServerConfig` and
    :class:`Limits` fields plus ``fd`` (an inherited listening socket).
    ``application`` may be an import string, see :func:`make_server`.
    SIGTERM and the first Ctrl+C stop gracefully; a second Ctrl+C stops at once.
    """
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f"port must be an integer, got {port!r}")
    if use_reloader:
        # The watcher binds once and re-runs this program; each child serves on that fd.
        from treadle.dev.reloader import run_with_reloader

        def serve(fd: int) -> None:
            run_simple(hostname, port, application, False, use_debugger, use_evalex,
                       threaded=threaded, processes=processes, request_handler=request_handler,
                       static_files=static_files, passthrough_errors=passthrough_errors,
                       ssl_context=ssl_context, **{**options, "fd": fd})

        own_fd = options.pop("fd", None)
        if own_fd == "systemd":
            own_fd = systemd_listen_fd()
        backlog = ServerConfig.from_options(options).backlog
        run_with_reloader(
            serve, lambda: create_listener(hostname, port, backlog=backlog, fd=own_fd),
            extra_files=extra_files, exclude_patterns=exclude_patterns,
            interval=reloader_interval, reloader_type=reloader_type,
            unix_socket_path=unix_path(hostname) if own_fd is None else None)
        return
    if use_debugger or static_files:
        # Wrapped here, so an import string is loaded here (workers then share this copy).
        app = load_app(application) if isinstance(application, str) else application
        if use_debugger:
            # Dev only, imported when asked for; the one place the server layer reaches up to dev/.
            from treadle.dev.debugger import DebuggedApplication

            named = hostname not in ("", "0.0.0.0", "::") and unix_path(hostname) is None
            app = DebuggedApplication(app, evalex=use_evalex, processes=processes,
                                      trusted_hosts=[hostname] if named else None)
        if static_files:
            from treadle.middleware.static import SharedDataMiddleware

            app = SharedDataMiddleware(app, static_files)
        application = app
    fd = options.pop("fd", None)
    server = make_server(hostname, port, application, threaded, processes, request_handler,
                         passthrough_errors, ssl_context, fd=fd, **options)
    _enable_logging()
    for line in startup_lines(server, hostname):
        logger.info("%s", line)
    logger.info("Press CTRL+C to quit")
    try:
        if isinstance(server, Supervisor) or threading.current_thread() is not (
                threading.main_thread()):
            server.serve_forever()
        else:
            _serve_until_signal(server)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _serve_until_signal(server: BaseServer) -> None:
    """Serve, stopping gracefully on SIGTERM or SIGINT; a second SIGINT stops at once."""

    def stop(signum: int, frame: object) -> None:
        if signum == signal.SIGINT and server.stop_requested:
            raise KeyboardInterrupt
        server.request_stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


SD_LISTEN_FDS_START = 3  # systemd passes sockets from this descriptor on


def systemd_listen_fd() -> int:
    """The listening socket systemd socket activation passed to this process.

    Checks ``LISTEN_PID`` and ``LISTEN_FDS`` the way ``sd_listen_fds`` does, then
    removes them so child processes do not take the socket for their own.
    """
    pid, count = os.environ.get("LISTEN_PID"), os.environ.get("LISTEN_FDS")
    if pid is None or count is None:
        raise ValueError("fd='systemd' needs socket activation, but LISTEN_PID and LISTEN_FDS "
                         "are not set; start the server from a systemd .socket unit, or pass "
                         "a descriptor number")
    if not (pid.isdigit() and count.isdigit()):
        raise ValueError(f"LISTEN_PID={pid!r} and LISTEN_FDS={count!r} must be numbers")
    if int(pid) != os.getpid():
        raise ValueError(f"the systemd sockets are for process {pid}, not this one "
                         f"({os.getpid()}); is a wrapper process in between?")
    if int(count) < 1:
        raise ValueError("systemd passed no sockets (LISTEN_FDS=0); check the .socket unit")
    if int(count) > 1:
        logger.warning("systemd passed %s sockets; serving on the first (fd %d) only",
                       count, SD_LISTEN_FDS_START)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    return SD_LISTEN_FDS_START


def raise_fd_limit() -> None:
    """Lift the soft open-file limit to the hard one: every connection holds a descriptor."""
    try:
        import resource
    except ImportError:  # not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An unlimited hard limit is still capped by the kernel (nr_open, OPEN_MAX).
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _enable_logging() -> None:
    """Show INFO lines on stderr unless the application configured logging itself."""
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


def startup_lines(server: BaseServer | Supervisor, hostname: str) -> list[str]:
    """Where the server listens, as `` * Running on ...`` lines (all addresses for 0.0.0.0)."""
    if server.port == 0 and unix_path(hostname) is not None:
        return [f" * Running on {hostname}"]
    scheme = "https" if server.ssl_context is not None else "http"
    port = server.port
    host = server.host
    lines = []
    if host in ("0.0.0.0", "::"):
        lines.append(f" * Running on all addresses ({host})")
        for address in _local_addresses(socket.AF_INET if host == "0.0.0.0" else socket.AF_INET6):
            lines.append(f" * Running on {scheme}://{_bracket(address)}:{port}")
    else:
        lines.append(f" * Running on {scheme}://{_bracket(host)}:{port}")
    if isinstance(server, Supervisor):
        kind = "threaded" if server.engine is ThreadedServer else "single-threaded"
        lines.append(f" * {server.workers} {kind} worker processes")
        if isinstance(server.app, str):
            lines.append(f" * Each worker imports {server.app}; SIGHUP replaces them with "
                         "new code, one by one")
    elif isinstance(server, ThreadedServer):
        lines.append(f" * Up to {server.config.threads} worker threads")
    return lines


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _local_addresses(family: socket.AddressFamily) -> list[str]:
    """Loopback first, then this host's addresses as the resolver knows them (no traffic)."""
    addresses = ["127.0.0.1" if family == socket.AF_INET else "::1"]
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, family, socket.SOCK_STREAM)
    except OSError:
        return addresses
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses
