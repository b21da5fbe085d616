"""Blueprints: a group of routes and hooks recorded now and applied when registered on an app.

Registration copies the blueprint's hooks into the app's tables under the blueprint's
dotted name (``parent.child``) and replays recorded routes with the prefix, subdomain and
name of that registration, so one blueprint can be registered several times.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, TypeVar, cast

from treadle.scaffold import Scaffold, _endpoint_from_view_func, setupmethod

if TYPE_CHECKING:
    from treadle.app import Treadle

__all__ = ["Blueprint", "BlueprintSetupState"]

F = TypeVar("F", bound=Callable[..., Any])
DeferredSetupFunction = Callable[["BlueprintSetupState"], None]

_sentinel: Any = object()


class BlueprintSetupState:
    """One registration of a blueprint on an app: what deferred functions are called with."""

    def __init__(
        self, blueprint: Blueprint, app: Treadle, options: dict[str, Any], first_registration: bool
    ) -> None:
        self.app = app
        self.blueprint = blueprint
        self.options = options
        self.first_registration = first_registration
        subdomain = options.get("subdomain")
        self.subdomain: str | None = blueprint.subdomain if subdomain is None else subdomain
        url_prefix = options.get("url_prefix")
        self.url_prefix: str | None = blueprint.url_prefix if url_prefix is None else url_prefix
        self.name: str = options.get("name", blueprint.name)
        self.name_prefix: str = options.get("name_prefix", "")
        self.url_defaults: dict[str, Any] = dict(blueprint.url_values_defaults)
        self.url_defaults.update(options.get("url_defaults", ()))

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        **options: Any,
    ) -> None:
        """Add a rule to the app with this registration's prefix, subdomain and dotted name."""
        if self.url_prefix is not None:
            rule = "/".join((self.url_prefix.rstrip("/"), rule.lstrip("/"))) if rule else self.url_prefix
        options.setdefault("subdomain", self.subdomain)
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)
        defaults = self.url_defaults
        if "defaults" in options:
            defaults = dict(defaults, **options.pop("defaults"))
        self.app.add_url_rule(
            rule,
            f"{self.name_prefix}.{self.name}.{endpoint}".lstrip("."),
            view_func,
            defaults=defaults,
            **options,
        )


class Blueprint(Scaffold):
    """A reusable set of routes, templates, static files and hooks for an app.

    ``app.register_blueprint(bp, url_prefix="/admin")`` applies it; endpoints become
    ``"<name>.<view>"``. Nest with ``bp.register_blueprint(child)``.
    """

    _got_registered_once = False

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = _sentinel,
    ) -> None:
        super().__init__(import_name, static_folder, static_url_path, template_folder, root_path)
        if not name:
            raise ValueError("'name' may not be empty.")
        if "." in name:
            raise ValueError(
                "'name' may not contain a dot '.' character; nest blueprints with"
                " register_blueprint() instead."
            )
        self.name = name
        self.url_prefix = url_prefix
        self.subdomain = subdomain
        self.deferred_functions: list[DeferredSetupFunction] = []
        self.url_values_defaults: dict[str, Any] = url_defaults or {}
        self.cli_group = cli_group
        self._blueprints: list[tuple[Blueprint, dict[str, Any]]] = []

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_registered_once:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the blueprint"
                f" '{self.name}'. It has already been registered at least once, any changes"
                " will not be applied consistently.\nMake sure all imports, decorators,"
                " functions, etc. needed to set up the blueprint are done before registering it."
            )

    @setupmethod
    def record(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` each time the blueprint is registered."""
        self.deferred_functions.append(func)

    @setupmethod
    def record_once(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` on the blueprint's first registration with an app only."""

        def wrapper(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        self.record(update_wrapper(wrapper, func))

    def make_setup_state(
        self, app: Treadle, options: dict[str, Any], first_registration: bool = False
    ) -> BlueprintSetupState:
        """The state passed to deferred functions (override to use a subclass)."""
        return BlueprintSetupState(self, app, options, first_registration)

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: Any) -> None:
        """Nest ``blueprint`` in this one; it is registered when this one is."""
        if blueprint is self:
            raise ValueError("Cannot register a blueprint on itself")
        self._blueprints.append((blueprint, options))

    def register(self, app: Treadle, options: dict[str, Any]) -> None:
        """Apply this blueprint to ``app`` (called by ``app.register_blueprint``)."""
        name_prefix = options.get("name_prefix", "")
        self_name = options.get("name", self.name)
        name = f"{name_prefix}.{self_name}".lstrip(".")
        if name in app.blueprints:
            which = "this" if app.blueprints[name] is self else "a different"
            existing_at = f" '{name}'" if self_name != name else ""
            raise ValueError(
                f"The name '{self_name}' is already registered for {which}"
                f" blueprint{existing_at}. Use 'name=' to provide a unique name."
            )
        first_bp_registration = not any(bp is self for bp in app.blueprints.values())
        app.blueprints[name] = self
        self._got_registered_once = True
        state = self.make_setup_state(app, options, first_bp_registration)

        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                view_func=self.send_static_file,
                endpoint="static",
            )
        self._merge_blueprint_funcs(app, name)
        for deferred in self.deferred_functions:
            deferred(state)
        self._register_cli(app, name, options)

        for child, child_options in self._blueprints:
            merged = dict(child_options)
            sub = merged.get("subdomain")
            if sub is None:
                sub = child.subdomain
            if state.subdomain is not None and sub is not None:
                merged["subdomain"] = f"{sub}.{state.subdomain}"
            elif sub is not None or state.subdomain is not None:
                merged["subdomain"] = sub if sub is not None else state.subdomain
            prefix = merged.get("url_prefix")
            if prefix is None:
                prefix = child.url_prefix
            if state.url_prefix is not None and prefix is not None:
                merged["url_prefix"] = state.url_prefix.rstrip("/") + "/" + prefix.lstrip("/")
            elif prefix is not None or state.url_prefix is not None:
                merged["url_prefix"] = prefix if prefix is not None else state.url_prefix
            merged["name_prefix"] = name
            child.register(app, merged)

    def _register_cli(self, app: Treadle, name: str, options: dict[str, Any]) -> None:
        if "cli" not in self.__dict__ or not self.cli.commands:
            return
        group = options.get("cli_group", self.cli_group)
        if group is None:
            app.cli.commands.update(self.cli.commands)
            return
        self.cli.name = name if group is _sentinel else group
        app.cli.add_command(self.cli)

    def _merge_blueprint_funcs(self, app: Treadle, name: str) -> None:
        def scoped(key: str | None) -> str:
            return name if key is None else f"{name}.{key}"

        for key, by_code in self.error_handler_spec.items():
            app.error_handler_spec[scoped(key)] = defaultdict(
                dict, {code: dict(handlers) for code, handlers in by_code.items()}
            )
        for endpoint, func in self.view_functions.items():
            app.view_functions[endpoint] = func
        for source, target in (
            (self.before_request_funcs, app.before_request_funcs),
            (self.after_request_funcs, app.after_request_funcs),
            (self.teardown_request_funcs, app.teardown_request_funcs),
            (self.url_default_functions, app.url_default_functions),
            (self.url_value_preprocessors, app.url_value_preprocessors),
            (self.template_context_processors, app.template_context_processors),
        ):
            for key, funcs in source.items():
                if funcs:
                    cast(Any, target)[scoped(key)].extend(funcs)

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        """Record a rule; on registration it gets the URL prefix and the ``name.`` endpoint prefix."""
        if endpoint and "." in endpoint:
            raise ValueError("'endpoint' may not contain a dot '.' character.")
        if view_func is not None and "." in getattr(view_func, "__name__", ""):
            raise ValueError("'view_func' name may not contain a dot '.' character.")
        self.record(
            _DeferredRule(rule, endpoint, view_func, provide_automatic_options, options)
        )

    # -- app-wide registration from a blueprint ---------------------------------------------

    def _record_on_app(self, func: DeferredSetupFunction) -> None:
        self.record_once(func)

    @setupmethod
    def app_template_filter(self, name: str | Callable[..., Any] | None = None) -> Any:
        """``app.template_filter`` from a blueprint (available in every template)."""
        if callable(name):
            self.add_app_template_filter(name)
            return name

        def decorator(f: F) -> F:
            self.add_app_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_filter(self, f: Callable[..., Any], name: str | None = None) -> None:
        self._record_on_app(lambda s: s.app.add_template_filter(f, name=name))

    @setupmethod
    def app_template_test(self, name: str | Callable[..., Any] | None = None) -> Any:
        """``app.template_test`` from a blueprint."""
        if callable(name):
            self.add_app_template_test(name)
            return name

        def decorator(f: F) -> F:
            self.add_app_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_test(self, f: Callable[..., bool], name: str | None = None) -> None:
        self._record_on_app(lambda s: s.app.add_template_test(f, name=name))

    @setupmethod
    def app_template_global(self, name: str | Callable[..., Any] | None = None) -> Any:
        """``app.template_global`` from a blueprint."""
        if callable(name):
            self.add_app_template_global(name)
            return name

        def decorator(f: F) -> F:
            self.add_app_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_global(self, f: Callable[..., Any], name: str | None = None) -> None:
        self._record_on_app(lambda s: s.app.add_template_global(f, name=name))

    @setupmethod
    def before_app_request(self, f: F) -> F:
        """A before_request hook for every request of the app, not only this blueprint's."""
        self._record_on_app(lambda s: s.app.before_request_funcs[None].append(f))
        return f

    @setupmethod
    def after_app_request(self, f: F) -> F:
        """An after_request hook for every request of the app."""
        self._record_on_app(lambda s: s.app.after_request_funcs[None].append(f))
        return f

    @setupmethod
    def teardown_app_request(self, f: F) -> F:
        """A teardown_request hook for every request of the app."""
        self._record_on_app(lambda s: s.app.teardown_request_funcs[None].append(f))
        return f

    @setupmethod
    def app_context_processor(self, f: F) -> F:
        """A context processor for every template of the app."""
        self._record_on_app(lambda s: s.app.template_context_processors[None].append(f))
        return f

    @setupmethod
    def app_errorhandler(self, code: type[BaseException] | int) -> Callable[[F], F]:
        """An error handler for the whole app, not only this blueprint's views."""

        def decorator(f: F) -> F:
            self._record_on_app(lambda s: s.app.register_error_handler(code, f))
            return f

        return decorator

    @setupmethod
    def app_url_value_preprocessor(self, f: F) -> F:
        """A url_value_preprocessor for every request of the app."""
        self._record_on_app(lambda s: s.app.url_value_preprocessors[None].append(f))
        return f

    @setupmethod
    def app_url_defaults(self, f: F) -> F:
        """A url_defaults function for every URL the app builds."""
        self._record_on_app(lambda s: s.app.url_default_functions[None].append(f))
        return f


class _DeferredRule:
    """A recorded ``add_url_rule`` call, replayed for each registration."""

    def __init__(
        self,
        rule: str,
        endpoint: str | None,
        view_func: Callable[..., Any] | None,
        provide_automatic_options: bool | None,
        options: dict[str, Any],
    ) -> None:
        self.rule = rule
        self.endpoint = endpoint
        self.view_func = view_func
        self.provide_automatic_options = provide_automatic_options
        self.options = options

    def __call__(self, state: BlueprintSetupState) -> None:
        state.add_url_rule(
            self.rule,
            self.endpoint,
            self.view_func,
            provide_automatic_options=self.provide_automatic_options,
            **self.options,
        )
