"""``python -m treadle.serving``: serve any WSGI callable named as ``module:attr``.

Every :class:`ServerConfig` field and every :class:`Limits` field is an option,
generated from those tables so the CLI can never drift from them.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from treadle.http.limits import Limits
from treadle.server.config import ServerConfig
from treadle.server.loader import check_app_spec, load_app

__all__ = ["build_parser", "load_app", "main"]  # load_app: see treadle.server.loader


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one option per ServerConfig and Limits field."""
    parser = argparse.ArgumentParser(
        prog="python -m treadle.serving",
        description="Serve a WSGI application with treadle's server.",
        epilog="Examples: python -m treadle.serving --threaded myapp:app ; "
               "python -m treadle.serving --processes 4 --threads 8 'myapp:create_app()'",
    )
    parser.add_argument("app", help="the WSGI callable as module:attribute, or "
                        "module:factory() to call a factory (module alone looks for 'app')")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind, or unix:/path for a Unix socket "
                        "(default: %(default)s)")
    parser.add_argument("--port", type=int, default=5000, help="port (0: a free one; "
                        "default: %(default)s)")
    parser.add_argument("--fd", type=_fd, help="serve on this inherited listening socket, or "
                        "'systemd' for the one systemd socket activation passed")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--threaded", action="store_true",
                      help="run requests on a bounded thread pool")
    mode.add_argument("--processes", type=int, default=1,
                      help="pre-fork this many worker processes (default: %(default)s)")
    tls = parser.add_argument_group("TLS")
    tls.add_argument("--cert", help="certificate file (PEM); needs --key")
    tls.add_argument("--key", help="private key file (PEM)")
    tls.add_argument("--adhoc", action="store_true",
                     help="serve HTTPS with a throwaway self-signed certificate")
    parser.add_argument("--passthrough-errors", action="store_true",
                        help="let app exceptions stop the server instead of answering 500")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"],
                        help="treadle.serving log level; info shows the access log "
                        "(default: %(default)s)")

    tuning = parser.add_argument_group("server settings (see ServerConfig)")
    for field in dataclasses.fields(ServerConfig):
        if field.name == "limits":
            continue
        kind = int if type(field.default) is int else float
        shown = "" if field.default is None else f" (default: {field.default})"
        tuning.add_argument(_flag(field.name), type=kind, default=None, metavar="N",
                            help=f"{field.metadata['help']}{shown}")
    limits = parser.add_argument_group("request limits (see treadle.http.limits.Limits)")
    for field in dataclasses.fields(Limits):
        limits.add_argument(_flag(field.name), type=int, default=None, metavar="N",
                            help=f"{field.metadata['help']} (default: {field.default})")
    return parser


def _fd(value: str) -> int | str:
    if value == "systemd":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a descriptor number nor 'systemd'") from None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, load the app and serve it until stopped; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    if args.adhoc and args.cert:
        parser.error("use either --adhoc or --cert/--key, not both")
    app: Any = args.app
    try:
        if args.processes > 1:
            check_app_spec(app)  # each worker imports it, so SIGHUP loads new code
        else:
            app = load_app(app)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        parser.error(str(exc))

    options: dict[str, Any] = {}
    for field in [*dataclasses.fields(ServerConfig), *dataclasses.fields(Limits)]:
        value = getattr(args, field.name, None)
        if value is not None:
            options[field.name] = value
    threaded = args.threaded or (args.processes == 1 and options.get("threads", 1) > 1)
    ssl_context: Any = "adhoc" if args.adhoc else (args.cert, args.key) if args.cert else None

    import logging

    from treadle.server.serving import run_simple

    logging.getLogger("treadle.serving").setLevel(args.log_level.upper())
    try:
        run_simple(args.host, args.port, app, threaded=threaded, processes=args.processes,
                   passthrough_errors=args.passthrough_errors, ssl_context=ssl_context,
                   fd=args.fd, **options)
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0
