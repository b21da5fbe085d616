"""``Treadle``, the application: configuration, registration, contexts, URLs and ``run``.

What happens per request lives in ``treadle.dispatch`` (the ``Dispatcher`` base class);
this module sets things up. Registration is allowed until the first request is handled.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import quote

from treadle.config import DEFAULT_CONFIG, Config, ConfigAttribute
from treadle.ctx import AppContext, RequestContext, _AppCtxGlobals
from treadle.dispatch import _APP_ONLY, Dispatcher, _hook_names
from treadle.exceptions import Aborter
from treadle.globals import _cv_app, _cv_request, g, request, session
from treadle.helpers import get_debug_flag, get_flashed_messages, get_load_dotenv
from treadle.json import DefaultJSONProvider, JSONProvider
from treadle.once import locked_cached_property
from treadle.routing import BuildError, Map, MapAdapter, Rule
from treadle.scaffold import _endpoint_from_view_func, find_package, setupmethod
from treadle.sessions import SecureCookieSessionInterface, SessionInterface
from treadle.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from jinja2 import BaseLoader, Environment

    from treadle.blueprints import Blueprint
    from treadle.cli import TreadleCliRunner
    from treadle.testing import TreadleClient

__all__ = ["Treadle"]

F = TypeVar("F", bound=Callable[..., Any])

# Characters left as they are in a URL fragment built by url_for(_anchor=...).
_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"

# Template file endings rendered with HTML autoescaping on.
AUTOESCAPE_EXTENSIONS = (".html", ".htm", ".xml", ".xhtml", ".svg")

def _make_timedelta(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


class Treadle(Dispatcher):
    """The WSGI application: a registry of routes and hooks plus the code that dispatches to them.

    Create one per project in its main module or package, passing ``__name__`` so resources
    (templates, static files, the instance folder) are found next to it.
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    aborter_class: type[Aborter] = Aborter
    jinja_environment: type[Environment] | None = None  # None: treadle.templating.Environment
    app_ctx_globals_class: type[_AppCtxGlobals] = _AppCtxGlobals
    config_class: type[Config] = Config
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    url_rule_class: type[Rule] = Rule
    url_map_class: type[Map] = Map
    test_client_class: type[TreadleClient] | None = None
    test_cli_runner_class: type[TreadleCliRunner] | None = None
    session_interface: SessionInterface = SecureCookieSessionInterface()
    default_config: ClassVar[dict[str, Any]] = DEFAULT_CONFIG
    jinja_options: ClassVar[dict[str, Any]] = {}

    testing = ConfigAttribute[bool]("TESTING")
    secret_key = ConfigAttribute[str | bytes | None]("SECRET_KEY")
    permanent_session_lifetime = ConfigAttribute[timedelta]("PERMANENT_SESSION_LIFETIME", _make_timedelta)  # type: ignore[arg-type]

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(import_name, static_folder, static_url_path, template_folder, root_path)
        if instance_path is None:
            instance_path = self.auto_find_instance_path()
        elif not os.path.isabs(instance_path):
            raise ValueError(
                "If an instance path is provided it must be absolute. A relative path was"
                " given instead."
            )
        self.instance_path = instance_path
        self.config = self.make_config(instance_relative_config)
        self.aborter = self.make_aborter()
        self.json: JSONProvider = self.json_provider_class(self)
        self.url_build_error_handlers: list[Callable[[Exception, str, dict[str, Any]], str]] = []
        self.teardown_appcontext_funcs: list[Callable[[BaseException | None], None]] = []
        self.shell_context_processors: list[Callable[[], dict[str, Any]]] = []
        self.blueprints: dict[str, Blueprint] = {}
        self.extensions: dict[str, Any] = {}
        self.url_map = self.url_map_class(host_matching=host_matching)
        self.subdomain_matching = subdomain_matching
        self._got_first_request = False
        self._sync_cache: dict[Callable[..., Any], Callable[..., Any]] = {}

        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise ValueError(
                    "Invalid static_host/host_matching combination: pass static_host exactly"
                    " when host_matching=True."
                )
            # A weak reference: the view must not keep the app alive (tests build many apps).
            app_ref = weakref.ref(self)
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=lambda **kw: app_ref().send_static_file(**kw),  # type: ignore[union-attr]
            )

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the application. It"
                " has already handled its first request, any changes will not be applied"
                " consistently. Make sure all imports, decorators, functions, etc. needed to"
                " set up the application are done before running it."
            )

    # -- identity, config and collaborators -------------------------------------------------

    @cached_property
    def name(self) -> str:  # type: ignore[override]
        """The import name, or the script's file name when run as ``__main__``."""
        if self.import_name == "__main__":
            filename = getattr(sys.modules["__main__"], "__file__", None)
            if filename is None:
                return "__main__"
            return os.path.splitext(os.path.basename(str(filename)))[0]
        return self.import_name

    @cached_property
    def logger(self) -> Any:
        """The ``logging.Logger`` named after the app (see ``treadle.logging``)."""
        from treadle.logging import create_logger

        return create_logger(self)

    @locked_cached_property
    def jinja_env(self) -> Environment:
        """The Jinja environment, created on first use (Jinja2 is imported only then)."""
        return self.create_jinja_environment()

    @property
    def debug(self) -> bool:
        """Debug mode (config ``DEBUG``); it also turns on template auto-reloading."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None and "jinja_env" in self.__dict__:
            self.jinja_env.auto_reload = value

    def make_config(self, instance_relative: bool = False) -> Config:
        """A config seeded with the defaults, DEBUG taken from ``TREADLE_DEBUG``."""
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def make_aborter(self) -> Aborter:
        """The object ``abort()`` calls while this app is active."""
        return self.aborter_class()

    def auto_find_instance_path(self) -> str:
        """``instance/`` next to the package, or ``prefix/var/<name>-instance`` when installed."""
        prefix, package_path = find_package(self.import_name)
        if prefix is None:
            return os.path.join(package_path, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

    def open_instance_resource(self, resource: str, mode: str = "rb", encoding: str | None = "utf-8") -> Any:
        """Open a file relative to the instance folder (writing allowed, unlike open_resource)."""
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    # -- templates --------------------------------------------------------------------------

    def create_jinja_environment(self) -> Environment:
        """Build the Jinja environment with the app's loader, globals and autoescape rule."""
        from treadle import templating

        options = dict(self.jinja_options)
        options.setdefault("autoescape", self.select_jinja_autoescape)
        if "auto_reload" not in options:
            auto_reload = self.config["TEMPLATES_AUTO_RELOAD"]
            options["auto_reload"] = self.debug if auto_reload is None else auto_reload
        env_class = self.jinja_environment or templating.Environment
        env = env_class(self, **options)  # type: ignore[arg-type]
        env.globals.update(
            url_for=self.url_for,
            get_flashed_messages=get_flashed_messages,
            config=self.config,
            request=request,
            session=session,
            g=g,
        )
        env.policies["json.dumps_function"] = self.json.dumps
        return env

    def create_global_jinja_loader(self) -> BaseLoader:
        """The loader that looks in the app's template folder, then each blueprint's."""
        from treadle.templating import DispatchingJinjaLoader

        return DispatchingJinjaLoader(self)

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Autoescape templates from strings and from HTML/XML/SVG files."""
        if filename is None:
            return True
        return filename.endswith(AUTOESCAPE_EXTENSIONS)

    def update_template_context(self, context: dict[str, Any]) -> None:
        """Add ``g``, ``request`` and the context processors' values; the caller's values win.

        ``g`` and ``request`` go in as the objects themselves (the proxies are also Jinja
        globals); ``session`` stays a proxy so rendering does not open the session.
        """
        app_ctx = _cv_app.get(None)
        req_ctx = _cv_request.get(None)
        names = _APP_ONLY if req_ctx is None else _hook_names(req_ctx.request.endpoint)[0]
        processors = self.template_context_processors
        funcs = [f for name in names for f in processors.get(name, ())] if processors else ()
        given = dict(context) if funcs else None
        if app_ctx is not None:
            context.setdefault("g", app_ctx.g)
        if req_ctx is not None:
            context.setdefault("request", req_ctx.request)
        if given is not None:
            for func in funcs:
                context.update(self._sync(func)())
            context.update(given)

    @setupmethod
    def template_filter(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Decorate a function to be a Jinja filter (``@app.template_filter`` or ``(name)``)."""
        if callable(name):
            self.add_template_filter(name)
            return name

        def decorator(f: F) -> F:
            self.add_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_filter(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register a Jinja filter, named after the function unless ``name`` is given."""
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Decorate a function to be a Jinja test (``{% if x is prime %}``)."""
        if callable(name):
            self.add_template_test(name)
            return name

        def decorator(f: F) -> F:
            self.add_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_test(self, f: Callable[..., bool], name: str | None = None) -> None:
        """Register a Jinja test."""
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Decorate a function to be available in every template."""
        if callable(name):
            self.add_template_global(name)
            return name

        def decorator(f: F) -> F:
            self.add_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_global(self, f: Callable[..., Any], name: str | None = None) -> None:
        """Register a Jinja global."""
        self.jinja_env.globals[name or f.__name__] = f

    # -- registration -----------------------------------------------------------------------

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Add a blueprint's routes and hooks; options (url_prefix, name, ...) override its own."""
        blueprint.register(self, options)

    def iter_blueprints(self) -> Iterable[Blueprint]:
        """The registered blueprints, in registration order."""
        return self.blueprints.values()

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Serve ``rule`` with ``view_func`` under ``endpoint`` (the function's name by default).

        ``methods`` defaults to the view's ``methods`` attribute or GET; OPTIONS is answered
        automatically unless the view handles it. HEAD follows GET.
        """
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)
        options["endpoint"] = endpoint
        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError(
                "Allowed methods must be a list of strings, for example:"
                ' @app.route(..., methods=["POST"])'
            )
        method_set = {item.upper() for item in methods}
        required = set(getattr(view_func, "required_methods", ()))
        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:
            provide_automatic_options = (
                "OPTIONS" not in method_set and bool(self.config["PROVIDE_AUTOMATIC_OPTIONS"])
            )
            if provide_automatic_options:
                required.add("OPTIONS")
        method_set |= required

        rule_obj = self.url_rule_class(rule, methods=method_set, **options)
        rule_obj.provide_automatic_options = provide_automatic_options
        self.url_map.add(rule_obj)
        if view_func is not None:
            existing = self.view_functions.get(endpoint)
            if existing is not None and existing != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing endpoint function:"
                    f" {endpoint}"
                )
            self.view_functions[endpoint] = view_func

    @setupmethod
    def teardown_appcontext(self, f: F) -> F:
        """Run ``f(exc)`` whenever an app context pops (after each request, after CLI commands)."""
        self.teardown_appcontext_funcs.append(f)
        return f

    @setupmethod
    def shell_context_processor(self, f: F) -> F:
        """Register ``f() -> dict`` whose items ``treadle shell`` puts in its namespace."""
        self.shell_context_processors.append(f)
        return f

    def make_shell_context(self) -> dict[str, Any]:
        """The namespace of ``treadle shell``: ``app``, ``g`` and the processors' items."""
        namespace: dict[str, Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            namespace.update(processor())
        return namespace

    # -- contexts ---------------------------------------------------------------------------

    def app_context(self) -> AppContext:
        """A new app context: ``with app.app_context(): ...`` makes ``current_app`` this app."""
        return AppContext(self)

    def request_context(self, environ: WSGIEnvironment) -> RequestContext:
        """A new request context for a WSGI environ."""
        return RequestContext(self, environ)

    def test_request_context(self, *args: Any, **kwargs: Any) -> RequestContext:
        """A request context for a made-up request; arguments are those of ``test_client().get``."""
        from treadle.environbuilder import EnvironBuilder

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies: bool = True, **kwargs: Any) -> TreadleClient:
        """A client that calls the app directly, without a server (see ``treadle.testing``)."""
        from treadle import testing

        cls = self.test_client_class or testing.TreadleClient
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def test_cli_runner(self, **kwargs: Any) -> TreadleCliRunner:
        """A click runner that invokes this app's CLI commands in tests."""
        from treadle import cli

        cls = self.test_cli_runner_class or cli.TreadleCliRunner
        return cls(self, **kwargs)

    # -- URLs -------------------------------------------------------------------------------

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the URL map to a request, or (outside one) to ``SERVER_NAME`` when it is set."""
        config = self.config
        if request is not None:
            trusted_hosts = config["TRUSTED_HOSTS"]
            if trusted_hosts is not None:
                request.trusted_hosts = trusted_hosts
                request.host  # noqa: B018 - raises SecurityError (400) for an untrusted Host
            url_map = self.url_map
            server_name = config["SERVER_NAME"]
            subdomain = None
            if url_map.host_matching:
                server_name = None
            elif not self.subdomain_matching:
                subdomain = url_map.default_subdomain or ""
            return url_map.bind_to_environ(request.environ, server_name=server_name, subdomain=subdomain)
        if config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                config["SERVER_NAME"],
                script_name=config["APPLICATION_ROOT"],
                url_scheme=config["PREFERRED_URL_SCHEME"],
            )
        return None

    def url_for(
        self,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        """The URL of ``endpoint`` with ``values`` filled into its rule (extras become the query).

        ``.name`` is relative to the current blueprint. Outside a request the URL is absolute
        and needs ``SERVER_NAME``.
        """
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            if endpoint[:1] == ".":
                blueprint_name = req_ctx.request.blueprint
                endpoint = f"{blueprint_name}{endpoint}" if blueprint_name is not None else endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            url_adapter = app_ctx.url_adapter if app_ctx is not None else self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request without 'SERVER_NAME'"
                    " configured. Also configure 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME'"
                    " as needed."
                )
            if _external is None:
                _external = True
        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")

        self.inject_url_defaults(endpoint, values)
        try:
            url: str = url_adapter.build(  # type: ignore[union-attr]
                endpoint, values, method=_method, url_scheme=_scheme, force_external=_external
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external)
            return self.handle_url_build_error(error, endpoint, values)
        if _anchor is not None:
            url = f"{url}#{quote(_anchor, safe=_ANCHOR_SAFE)}"
        return url

    def inject_url_defaults(self, endpoint: str, values: dict[str, Any]) -> None:
        """Let the url_defaults functions of the app and the endpoint's blueprints fill values."""
        functions = self.url_default_functions
        if not functions:
            return
        for name in _hook_names(endpoint)[0]:
            for func in functions.get(name, ()):
                func(endpoint, values)

    def handle_url_build_error(self, error: BuildError, endpoint: str, values: dict[str, Any]) -> str:
        """Give ``url_build_error_handlers`` a chance to build the URL, else re-raise."""
        for handler in self.url_build_error_handlers:
            try:
                url = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if url is not None:
                    return url
        if error is sys.exc_info()[1]:
            raise  # keep the original traceback
        raise error

    def redirect(self, location: str, code: int = 302) -> Response:
        """A redirect response; ``treadle.redirect`` calls this on the current app."""
        from treadle.helpers import _make_redirect

        return _make_redirect(location, code, self.response_class)

    # -- serving ----------------------------------------------------------------------------

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: Any,
    ) -> None:
        """Serve the app with treadle's server (``treadle.serving.run_simple``).

        ``host`` defaults to 127.0.0.1 and ``port`` to 5000 (or SERVER_NAME's parts);
        ``debug`` turns on the reloader and debugger unless ``options`` say otherwise.
        """
        if os.environ.get("TREADLE_RUN_FROM_CLI") == "true":
            from treadle.dev.reloader import is_running_from_reloader

            if not is_running_from_reloader():
                print(
                    " * Ignoring a call to 'app.run()' that would block the current 'treadle'"
                    " CLI command.\n   Only call 'app.run()' in an"
                    " 'if __name__ == \"__main__\"' guard.",
                    file=sys.stderr,
                )
            return

        if get_load_dotenv(load_dotenv):
            from treadle.cli import load_dotenv as load_env_files

            load_env_files()
            if "TREADLE_DEBUG" in os.environ:
                self.debug = get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)

        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        if not host:
            host = sn_host or "127.0.0.1"
        if port or port == 0:
            port = int(port)
        elif sn_port:
            port = int(sn_port)
        else:
            port = 5000

        from treadle.cli import show_server_banner
        from treadle.server.config import options_from_config
        from treadle.serving import run_simple

        # SERVER_* config keys set limits and timeouts; arguments to run() win.
        options = {**options_from_config(self.config), **options}
        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)

        show_server_banner(self.debug, self.name)
        try:
            run_simple(host, port, self, **options)
        finally:
            # Let the dev server's reloaded app be set up again (after-first-request guard).
            self._got_first_request = False

