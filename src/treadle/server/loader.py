"""Import a WSGI callable named as ``module:attr`` or ``module:factory(literals)``.

The CLI loads the app this way, and so do pre-forked workers given an import
string, so that each fresh worker runs the code on disk, not the supervisor's copy.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from typing import Any

__all__ = ["check_app_spec", "load_app"]


def _add_cwd() -> None:
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())


def check_app_spec(spec: str) -> None:
    """Fail early on a spec whose module cannot be found, without importing the module."""
    module_name = spec.partition(":")[0]
    if not module_name:
        raise ValueError(f"{spec!r} names no module; write it as module:app")
    _add_cwd()
    if importlib.util.find_spec(module_name) is None:
        raise ImportError(f"No module named {module_name!r} (looked in {os.getcwd()} and "
                          "sys.path)", name=module_name)


def load_app(spec: str) -> Any:
    """Import ``module:attr`` (or call ``module:factory(args)``) from the current directory."""
    module_name, _, expression = spec.partition(":")
    if not module_name:
        raise ValueError(f"{spec!r} names no module; write it as module:app")
    _add_cwd()
    module = importlib.import_module(module_name)
    if not expression:
        for name in ("app", "application"):
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {module_name!r} has no 'app' or 'application'; "
                             f"name the callable, e.g. {module_name}:my_app")
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"cannot parse {expression!r}; use attr or factory(...)") from None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except ValueError:
            raise ValueError(f"factory arguments in {expression!r} must be literals") from None
        factory = _attribute(module, module_name, node.func.id)
        app = factory(*args, **kwargs)
    elif isinstance(node, ast.Name):
        app = _attribute(module, module_name, node.id)
    else:
        raise ValueError(f"{expression!r} is neither a name nor a factory call")
    if not callable(app):
        raise TypeError(f"{spec} is a {type(app).__name__}, not a WSGI callable")
    return app


def _attribute(module: Any, module_name: str, name: str) -> Any:
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None
