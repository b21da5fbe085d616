"""Finding the app the CLI works on: an import path (``module:name`` or a factory call),
or ``wsgi.py``/``app.py`` in the current directory. The rules are Flask's.

A module's app is its ``app``/``application`` attribute, its only Treadle instance, or what
its ``create_app``/``make_app`` factory returns; ``module:create_app("x")`` passes arguments.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click

from treadle.helpers import get_debug_flag, get_load_dotenv

if TYPE_CHECKING:
    from treadle.app import Treadle

__all__ = [
    "NoAppException",
    "ScriptInfo",
    "find_app_by_string",
    "find_best_app",
    "locate_app",
    "prepare_import",
]


class NoAppException(click.UsageError):
    """The app could not be found or loaded; the message says where treadle looked."""


def _app_class() -> type[Treadle]:
    from treadle.app import Treadle

    return Treadle


def _called_with_wrong_args(factory: Callable[..., Any]) -> bool:
    """Whether the TypeError being handled came from the call itself, not from inside it."""
    tb = sys.exc_info()[2]
    try:
        while tb is not None:
            if tb.tb_frame.f_code is getattr(factory, "__code__", None):
                return False
            tb = tb.tb_next
        return True
    finally:
        del tb


def find_best_app(module: ModuleType) -> Treadle:
    """The app in ``module``: ``app``/``application``, the only app, or a factory's result."""
    app_class = _app_class()
    for name in ("app", "application"):
        candidate = getattr(module, name, None)
        if isinstance(candidate, app_class):
            return candidate
    found = [value for value in module.__dict__.values() if isinstance(value, app_class)]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise NoAppException(
            f"Detected multiple Treadle applications in module '{module.__name__}'. Use"
            f" '{module.__name__}:name' to specify the correct one."
        )
    for name in ("create_app", "make_app"):
        factory = getattr(module, name, None)
        if not inspect.isfunction(factory):
            continue
        try:
            app = factory()
        except TypeError as e:
            if not _called_with_wrong_args(factory):
                raise
            raise NoAppException(
                f"Detected factory '{name}' in module '{module.__name__}', but could not call"
                f" it without arguments. Use '{module.__name__}:{name}(args)' to specify"
                " arguments."
            ) from e
        if isinstance(app, app_class):
            return app
    raise NoAppException(
        f"Failed to find a Treadle application or factory in module '{module.__name__}'."
        f" Use '{module.__name__}:name' to specify one."
    )


def find_app_by_string(module: ModuleType, app_name: str) -> Treadle:
    """Resolve ``name`` or ``factory(literal args)`` in ``module`` to an app."""
    app_class = _app_class()
    try:
        expr = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.") from None
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    if isinstance(expr, ast.Name):
        name = expr.id
    elif isinstance(expr, ast.Call):
        if not isinstance(expr.func, ast.Name):
            raise NoAppException(f"Function reference must be a simple name: {app_name!r}.")
        name = expr.func.id
        try:
            args = [ast.literal_eval(arg) for arg in expr.args]
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in expr.keywords if kw.arg is not None}
        except ValueError:
            raise NoAppException(f"Failed to parse arguments as literal values: {app_name!r}.") from None
    else:
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.")
    try:
        attr = getattr(module, name)
    except AttributeError as e:
        raise NoAppException(f"Failed to find attribute {name!r} in {module.__name__!r}.") from e
    if inspect.isfunction(attr):
        try:
            app = attr(*args, **kwargs)
        except TypeError as e:
            if not _called_with_wrong_args(attr):
                raise
            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r} could not be called"
                " with the specified arguments."
            ) from e
    else:
        app = attr
    if isinstance(app, app_class):
        return app
    raise NoAppException(
        f"A valid Treadle application was not obtained from '{module.__name__}:{app_name}'."
    )


def prepare_import(path: str) -> str:
    """Module name for a file path or dotted name, adding its package root to ``sys.path``."""
    path = os.path.realpath(path)
    base, ext = os.path.splitext(path)
    if ext == ".py":
        path = base
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)
    parts: list[str] = []
    while True:
        path, name = os.path.split(path)
        parts.append(name)
        if not os.path.exists(os.path.join(path, "__init__.py")):
            break
    if sys.path[0] != path:
        sys.path.insert(0, path)
    return ".".join(reversed(parts))


def locate_app(module_name: str, app_name: str | None, raise_if_not_found: bool = True) -> Treadle | None:
    """Import ``module_name`` and find the app in it (by ``app_name`` when given)."""
    try:
        __import__(module_name)
    except ImportError:
        # An ImportError raised inside the module is a bug there; show its traceback.
        if sys.exc_info()[2].tb_next:  # type: ignore[union-attr]
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was raised:\n\n{traceback.format_exc()}"
            ) from None
        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from None
        return None
    module = sys.modules[module_name]
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


def _split_import_path(value: str) -> tuple[str, str | None]:
    # "pkg.mod:app" or "C:\\path\\app.py:app": the colon after a drive letter is not a separator.
    for index, char in enumerate(value):
        if char == ":" and value[index + 1 : index + 2] not in ("\\", "/"):
            return value[:index], value[index + 1 :]
    return value, None


class ScriptInfo:
    """How the CLI finds its app: an import path, or a ``create_app`` callable."""

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: Callable[..., Treadle] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        self.data: dict[Any, Any] = {}
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        self._loaded_app: Treadle | None = None

    def load_app(self) -> Treadle:
        """Load the app once and return it."""
        if self._loaded_app is not None:
            return self._loaded_app
        app: Treadle | None
        if self.create_app is not None:
            app = self.create_app()
        elif self.app_import_path:
            path, name = _split_import_path(self.app_import_path)
            app = locate_app(prepare_import(path), name)
        else:
            app = None
            for filename in ("wsgi.py", "app.py"):
                app = locate_app(prepare_import(filename), None, raise_if_not_found=False)
                if app is not None:
                    break
        if app is None:
            raise NoAppException(
                "Could not locate a Treadle application. Use the 'treadle --app' option, the"
                " 'TREADLE_APP' environment variable, or a 'wsgi.py' or 'app.py' file in the"
                " current directory."
            )
        if self.set_debug_flag:
            app.debug = get_debug_flag()
        self._loaded_app = app
        return app
