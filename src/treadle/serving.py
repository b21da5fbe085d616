"""Treadle's WSGI server, public entry points: ``run_simple``, ``make_server`` and the CLI.

``python -m treadle.serving module:app`` serves any WSGI callable; see ``--help``.
The implementation lives in :mod:`treadle.server`.
"""

from __future__ import annotations

from treadle.server.handler import WSGIRequestHandler
from treadle.server.serving import make_server, run_simple

__all__ = ["WSGIRequestHandler", "main", "make_server", "run_simple"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line interface; returns the exit status."""
    from treadle.server.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
