"""Start Werkzeug's `run_simple` from the command line, as the benchmark needs it.

Werkzeug has no server CLI of its own. Its per-request access log is turned
off so that, as for every other server here, no logging is measured.
"""

from __future__ import annotations

import argparse
import importlib
import logging

from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threaded", action="store_true")
    parser.add_argument("target", help="module:callable, e.g. apps:hello")
    args = parser.parse_args()
    module_name, _, attr = args.target.partition(":")
    app = getattr(importlib.import_module(module_name), attr)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    run_simple(args.host, args.port, app, threaded=args.threaded,
               use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
