"""What an app and a blueprint share: route and hook registration, error handlers, resources.

Registration only fills plain dicts and lists keyed by blueprint name (``None`` is the app);
the dispatcher reads them. Nothing here runs per request except ``send_static_file``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property, update_wrapper
from typing import IO, TYPE_CHECKING, Any, TypeVar

from treadle.exceptions import HTTPException, default_exceptions
from treadle.once import locked_cached_property

if TYPE_CHECKING:
    from jinja2 import BaseLoader

    from treadle.wrappers import Response

__all__ = ["Scaffold", "find_package", "get_root_path", "setupmethod"]

F = TypeVar("F", bound=Callable[..., Any])

ErrorHandlerSpec = dict[str | None, dict[int | None, dict[type[BaseException], Callable[..., Any]]]]


def setupmethod(f: F) -> F:
    """Mark a registration method: calling it after the first request is an error."""
    name = f.__name__

    def wrapper(self: Scaffold, *args: Any, **kwargs: Any) -> Any:
        self._check_setup_finished(name)
        return f(self, *args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


def get_root_path(import_name: str) -> str:
    """The directory of the module or package ``import_name`` (the cwd when it has no file)."""
    module = sys.modules.get(import_name)
    filename = getattr(module, "__file__", None) if module is not None else None
    if filename is None:
        try:
            spec = importlib.util.find_spec(import_name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin in (None, "namespace", "built-in", "frozen"):
            return os.getcwd()
        filename = spec.origin
    return os.path.dirname(os.path.abspath(filename))


def _is_within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it, compared by path segments."""
    try:
        return os.path.commonpath([path, folder]) == os.path.normpath(folder)
    except ValueError:  # one absolute and one relative: never nested
        return False


def _package_search_path(import_name: str) -> str:
    """The ``sys.path`` entry the top-level package of ``import_name`` is imported from."""
    top = import_name.partition(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return os.getcwd()
    locations = spec.submodule_search_locations
    if not locations:
        return os.path.dirname(str(spec.origin))
    if spec.origin in (None, "namespace"):
        # A namespace package: take the portion that holds this submodule, if it is found.
        try:
            sub = importlib.util.find_spec(import_name)
        except (ImportError, ValueError):
            sub = None
        if sub is not None and sub.submodule_search_locations:
            holder = os.path.commonpath(list(sub.submodule_search_locations))
            for location in locations:
                if _is_within(holder, location):
                    return os.path.dirname(location)
        return os.path.dirname(next(iter(locations)))
    return os.path.dirname(os.path.dirname(str(spec.origin)))


def find_package(import_name: str) -> tuple[str | None, str]:
    """``(install prefix or None, import path)`` for ``import_name``.

    The prefix is set only when the package is installed (under ``sys.prefix`` or in a
    ``site-packages``), which is when its instance folder moves to ``prefix/var``.
    """
    package_path = _package_search_path(import_name)
    py_prefix = os.path.abspath(sys.prefix)
    if _is_within(package_path, py_prefix):
        return py_prefix, package_path
    site_parent, site_folder = os.path.split(package_path)
    if site_folder.lower() != "site-packages":
        return None, package_path
    parent, folder = os.path.split(site_parent)
    if folder.lower() == "lib":
        return parent, package_path
    if os.path.basename(parent).lower() == "lib":
        return os.path.dirname(parent), package_path
    return site_parent, package_path


def _endpoint_from_view_func(view_func: Callable[..., Any] | None) -> str:
    if view_func is None:
        raise TypeError("add_url_rule() needs an endpoint name when no view function is given.")
    return view_func.__name__


def _hook_table() -> defaultdict[str | None, list[Any]]:
    return defaultdict(list)


class Scaffold:
    """Common base of ``Treadle`` and ``Blueprint``: registration API and package resources."""

    name: str
    cli_name: str | None = None

    def __init__(
        self,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        root_path: str | None = None,
    ) -> None:
        self.import_name = import_name
        self.static_folder = static_folder
        self.static_url_path = static_url_path
        self.template_folder = template_folder
        if root_path is None:
            root_path = get_root_path(import_name)
        self.root_path = root_path
        self.view_functions: dict[str, Callable[..., Any]] = {}
        self.error_handler_spec: ErrorHandlerSpec = defaultdict(lambda: defaultdict(dict))
        self.before_request_funcs: defaultdict[str | None, list[Callable[[], Any]]] = _hook_table()
        self.after_request_funcs: defaultdict[str | None, list[Callable[[Any], Any]]] = _hook_table()
        self.teardown_request_funcs: defaultdict[str | None, list[Callable[[Any], Any]]] = _hook_table()
        self.template_context_processors: defaultdict[str | None, list[Callable[[], dict[str, Any]]]] = _hook_table()
        self.url_value_preprocessors: defaultdict[str | None, list[Callable[[str | None, dict[str, Any] | None], None]]] = _hook_table()
        self.url_default_functions: defaultdict[str | None, list[Callable[[str, dict[str, Any]], None]]] = _hook_table()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def _check_setup_finished(self, f_name: str) -> None:
        raise NotImplementedError

    @cached_property
    def cli(self) -> Any:
        """Click commands registered with ``@obj.cli.command()`` (an ``AppGroup``)."""
        from treadle.cli import AppGroup

        return AppGroup(self.name)

    # -- package resources ------------------------------------------------------------------

    @property
    def static_folder(self) -> str | None:
        """Absolute path of the static folder, or None when there is none."""
        if self._static_folder is None:
            return None
        return os.path.join(self.root_path, self._static_folder)

    @static_folder.setter
    def static_folder(self, value: str | os.PathLike[str] | None) -> None:
        if value is not None:
            value = os.fspath(value).rstrip("\\/")
        self._static_folder = value

    @property
    def has_static_folder(self) -> bool:
        """Whether a static folder is configured (it need not exist yet)."""
        return self.static_folder is not None

    @property
    def static_url_path(self) -> str | None:
        """URL prefix of the static route; defaults to ``/`` + the static folder's name."""
        if self._static_url_path is not None:
            return self._static_url_path
        if self.static_folder is not None:
            return f"/{os.path.basename(self.static_folder)}".rstrip("/")
        return None

    @static_url_path.setter
    def static_url_path(self, value: str | None) -> None:
        if value is not None:
            value = value.rstrip("/")
        self._static_url_path = value

    @locked_cached_property
    def jinja_loader(self) -> BaseLoader | None:
        """A file loader over this object's template folder, if it has one."""
        if self.template_folder is None:
            return None
        from jinja2 import FileSystemLoader

        return FileSystemLoader(os.path.join(self.root_path, self.template_folder))

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Cache max-age for ``send_file``: ``SEND_FILE_MAX_AGE_DEFAULT`` (None = no max-age)."""
        from treadle.globals import current_app

        value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        return value  # type: ignore[no-any-return]

    def send_static_file(self, filename: str) -> Response:
        """Serve ``filename`` from the static folder (the view behind the ``static`` route)."""
        if self.static_folder is None:
            raise RuntimeError("'static_folder' must be set to serve static files.")
        from treadle.helpers import send_from_directory

        max_age = self.get_send_file_max_age(filename)
        return send_from_directory(self.static_folder, filename, max_age=max_age)

    def open_resource(self, resource: str, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
        """Open a file relative to ``root_path`` for reading."""
        if mode not in {"r", "rt", "rb"}:
            raise ValueError("Resources can only be opened for reading; use mode 'r' or 'rb'.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    # -- routes -----------------------------------------------------------------------------

    def _method_route(self, method: str, rule: str, options: dict[str, Any]) -> Callable[[F], F]:
        if "methods" in options:
            raise TypeError("Use the 'route' decorator to pass a 'methods' argument.")
        return self.route(rule, methods=[method], **options)

    @setupmethod
    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=["GET"])``."""
        return self._method_route("GET", rule, options)

    @setupmethod
    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=["POST"])``."""
        return self._method_route("POST", rule, options)

    @setupmethod
    def put(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=["PUT"])``."""
        return self._method_route("PUT", rule, options)

    @setupmethod
    def delete(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=["DELETE"])``."""
        return self._method_route("DELETE", rule, options)

    @setupmethod
    def patch(self, rule: str, **options: Any) -> Callable[[F], F]:
        """``route(rule, methods=["PATCH"])``."""
        return self._method_route("PATCH", rule, options)

    @setupmethod
    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        """Decorate a view function to serve ``rule`` (options go to ``add_url_rule``)."""

        def decorator(f: F) -> F:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, f, **options)
            return f

        return decorator

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        raise NotImplementedError

    @setupmethod
    def endpoint(self, endpoint: str) -> Callable[[F], F]:
        """Decorate a function to be the view for ``endpoint`` (whose rule is added elsewhere)."""

        def decorator(f: F) -> F:
            self.view_functions[endpoint] = f
            return f

        return decorator

    # -- request hooks ----------------------------------------------------------------------

    @setupmethod
    def before_request(self, f: F) -> F:
        """Run ``f()`` before each view; a non-None return value becomes the response."""
        self.before_request_funcs[None].append(f)
        return f

    @setupmethod
    def after_request(self, f: F) -> F:
        """Run ``f(response)`` after each view; it must return a response."""
        self.after_request_funcs[None].append(f)
        return f

    @setupmethod
    def teardown_request(self, f: F) -> F:
        """Run ``f(exc)`` when the request context pops, even when the view failed."""
        self.teardown_request_funcs[None].append(f)
        return f

    @setupmethod
    def context_processor(self, f: F) -> F:
        """Register ``f() -> dict`` whose items are added to every template's context."""
        self.template_context_processors[None].append(f)
        return f

    @setupmethod
    def url_value_preprocessor(self, f: F) -> F:
        """Run ``f(endpoint, view_args)`` before the before_request hooks; it may pop values."""
        self.url_value_preprocessors[None].append(f)
        return f

    @setupmethod
    def url_defaults(self, f: F) -> F:
        """Run ``f(endpoint, values)`` when building URLs, to fill in default values."""
        self.url_default_functions[None].append(f)
        return f

    # -- error handlers ---------------------------------------------------------------------

    @setupmethod
    def errorhandler(self, code_or_exception: type[BaseException] | int) -> Callable[[F], F]:
        """Decorate ``f(error)`` to handle an HTTP status code or an exception class."""

        def decorator(f: F) -> F:
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    @setupmethod
    def register_error_handler(
        self, code_or_exception: type[BaseException] | int, f: Callable[..., Any]
    ) -> None:
        """``errorhandler`` without the decorator."""
        exc_class, code = self._get_exc_class_and_code(code_or_exception)
        self.error_handler_spec[None][code][exc_class] = f

    @staticmethod
    def _get_exc_class_and_code(
        exc_class_or_code: type[BaseException] | int,
    ) -> tuple[type[BaseException], int | None]:
        """Normalise a handler key to ``(exception class, status code or None)``."""
        exc_class: Any
        if isinstance(exc_class_or_code, int):
            try:
                exc_class = default_exceptions[exc_class_or_code]
            except KeyError:
                raise ValueError(
                    f"'{exc_class_or_code}' is not a recognized HTTP error code. Use a subclass"
                    " of HTTPException with that code instead."
                ) from None
        else:
            exc_class = exc_class_or_code
        if isinstance(exc_class, BaseException):
            raise TypeError(
                f"{exc_class!r} is an instance, not a class. Handlers can only be registered"
                " for exception classes or HTTP error codes."
            )
        if not isinstance(exc_class, type) or not issubclass(exc_class, Exception):
            name = getattr(exc_class, "__name__", repr(exc_class))
            raise ValueError(
                f"'{name}' is not a subclass of Exception. Handlers can only be registered"
                " for exception classes or HTTP error codes."
            )
        if issubclass(exc_class, HTTPException):
            return exc_class, exc_class.code
        return exc_class, None
