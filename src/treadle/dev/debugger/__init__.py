"""The in-browser debugger: `DebuggedApplication` wraps a WSGI app in development.

Imported only when asked for (`run_simple(use_debugger=True)`); nothing on the
production path imports this package.
"""

from __future__ import annotations

from treadle.dev.debugger.middleware import PRESERVE_CONTEXT_KEY, DebuggedApplication

__all__ = ["PRESERVE_CONTEXT_KEY", "DebuggedApplication"]
