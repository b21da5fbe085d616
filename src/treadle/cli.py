"""The ``treadle`` command: global options (``--app``, ``--debug``, ``--env-file``), the
built-in ``run``, ``routes`` and ``shell``, and the app's own ``@app.cli`` commands, each run
in the app's context. How the app is found lives in ``treadle.discovery``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource
from click.testing import CliRunner, Result

from treadle.discovery import (
    NoAppException,
    ScriptInfo,
    find_app_by_string,
    find_best_app,
    locate_app,
    prepare_import,
)
from treadle.globals import _cv_app
from treadle.helpers import get_debug_flag

if TYPE_CHECKING:
    from treadle.app import Treadle

__all__ = [
    "AppGroup",
    "NoAppException",
    "ScriptInfo",
    "TreadleCliRunner",
    "TreadleGroup",
    "cli",
    "find_app_by_string",
    "find_best_app",
    "load_dotenv",
    "locate_app",
    "main",
    "prepare_import",
    "with_appcontext",
]

F = TypeVar("F", bound=Callable[..., Any])

pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Run a command inside the app's context (``app.cli`` commands get this automatically)."""

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        if _cv_app.get(None) is None:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(decorator, f)  # type: ignore[return-value]


class AppGroup(click.Group):
    """A click group whose commands run in the app context (pass ``with_appcontext=False`` not to)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:  # type: ignore[override]
        wrap = kwargs.pop("with_appcontext", True)

        def decorator(f: Callable[..., Any]) -> click.Command:
            if wrap:
                f = with_appcontext(f)
            return click.Group.command(self, *args, **kwargs)(f)  # type: ignore[no-any-return]

        return decorator

    def group(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Group]:  # type: ignore[override]
        kwargs.setdefault("cls", AppGroup)
        return super().group(*args, **kwargs)  # type: ignore[no-any-return]


# -- global options -------------------------------------------------------------------------


def _set_app(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    ctx.ensure_object(ScriptInfo).app_import_path = value
    return value


_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    help=(
        "The application or factory to load, as 'module:name'. The module may be a dotted"
        " import or a file path. The name may be left out if it is 'app', 'application',"
        " 'create_app' or 'make_app', and may be 'name(args)' to pass arguments."
    ),
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool | None:
    source = ctx.get_parameter_source(param.name)
    if source in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None
    os.environ["TREADLE_DEBUG"] = "1" if value else "0"
    return value


_debug_option = click.Option(
    ["--debug/--no-debug"], help="Set debug mode.", expose_value=False, callback=_set_debug
)


def _env_file_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if importlib.util.find_spec("dotenv") is None and value is not None:
        raise click.BadParameter(
            "python-dotenv must be installed to load an env file.", ctx=ctx, param=param
        )
    if value is not None or ctx.obj.load_dotenv_defaults:
        load_dotenv(value, load_defaults=ctx.obj.load_dotenv_defaults)
    return value


_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    help=(
        "Load environment variables from this file, over those of '.env' and '.treadleenv'."
        " Variables already set in the environment win. Needs python-dotenv."
    ),
    is_eager=True,
    expose_value=False,
    callback=_env_file_callback,
)


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import platform

    from treadle import __version__

    click.echo(f"Python {platform.python_version()}\nTreadle {__version__}", color=ctx.color)
    ctx.exit()


_version_option = click.Option(
    ["--version"],
    help="Show the treadle version.",
    expose_value=False,
    callback=_show_version,
    is_flag=True,
    is_eager=True,
)


class TreadleGroup(AppGroup):
    """The ``treadle`` command group: global options, built-in commands, then the app's commands."""

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: Callable[..., Treadle] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        params.extend((_env_file_option, _app_option, _debug_option))
        if add_version_option:
            params.append(_version_option)
        extra.setdefault("context_settings", {}).setdefault("auto_envvar_prefix", "TREADLE")
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
        self._loaded_plugin_commands = False

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        from importlib import metadata

        for entry_point in metadata.entry_points(group="treadle.commands"):
            self.add_command(entry_point.load(), entry_point.name)
        self._loaded_plugin_commands = True

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_plugin_commands()
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        info = ctx.ensure_object(ScriptInfo)
        try:
            app = info.load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None
        current = _cv_app.get(None)
        if current is None or current.app is not app:
            ctx.with_resource(app.app_context())
        return app.cli.get_command(ctx, cmd_name)  # type: ignore[no-any-return]

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        names = set(super().list_commands(ctx))
        info = ctx.ensure_object(ScriptInfo)
        try:
            names.update(info.load_app().cli.list_commands(ctx))
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
        except Exception:
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        return sorted(names)

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        # Tells app.run() in the imported module not to start a second server.
        os.environ["TREADLE_RUN_FROM_CLI"] = "true"
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if (not args and self.no_args_is_help) or (
            len(args) == 1 and args[0] in self.get_help_option_names(ctx)
        ):
            # --help lists the app's commands too, so honour --app/-e before printing it.
            _env_file_option.handle_parse_result(ctx, {}, [])
            _app_option.handle_parse_result(ctx, {}, [])
        return super().parse_args(ctx, args)


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load ``.treadleenv`` then ``.env`` (then ``path``) into ``os.environ`` without overriding.

    A no-op returning False when python-dotenv is not installed.
    """
    try:
        dotenv: Any = importlib.import_module("dotenv")
    except ImportError:
        if path or os.path.isfile(".env") or os.path.isfile(".treadleenv"):
            click.secho(
                " * Tip: There are .env files present. Install python-dotenv to use them.",
                fg="yellow",
                err=True,
            )
        return False
    data: dict[str, str | None] = {}
    if load_defaults:
        for name in (".treadleenv", ".env"):
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                data |= dotenv.dotenv_values(found, encoding="utf-8")
    if path is not None and os.path.isfile(path):
        data |= dotenv.dotenv_values(path, encoding="utf-8")
    for key, value in data.items():
        if key not in os.environ and value is not None:
            os.environ[key] = value
    return bool(data)


def _is_running_from_reloader() -> bool:
    from treadle.dev.reloader import is_running_from_reloader

    return is_running_from_reloader()


def show_server_banner(debug: bool | None, app_import_path: str | None) -> None:
    """Print which app is served and the debug mode (once, not again in the reloader's child)."""
    if _is_running_from_reloader():
        return
    if app_import_path is not None:
        click.echo(f" * Serving Treadle app '{app_import_path}'")
    if debug is not None:
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")


# -- built-in commands ----------------------------------------------------------------------


class CertParamType(click.ParamType):  # type: ignore[type-arg]
    """``--cert``: a certificate file or ``adhoc`` (a throwaway self-signed certificate)."""

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.path_type(value, param, ctx)
        except click.BadParameter:
            if str(value).lower() != "adhoc":
                raise
        try:
            import cryptography  # noqa: F401
        except ImportError:
            raise click.BadParameter(
                "Using ad-hoc certificates requires the cryptography library"
                " (pip install 'treadle[adhoc]').",
                ctx,
                param,
            ) from None
        return "adhoc"


def _validate_key(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    cert = ctx.params.get("cert")
    if value is not None:
        if cert == "adhoc":
            raise click.BadParameter('When "--cert" is "adhoc", "--key" is not used.', ctx, param)
        if not cert:
            raise click.BadParameter('"--cert" must also be specified.', ctx, param)
        ctx.params["cert"] = (cert, value)
    elif cert and cert != "adhoc":
        raise click.BadParameter('Required when using "--cert".', ctx, param)
    return value


class SeparatedPathType(click.Path):
    """Several paths in one value, separated by ``os.pathsep`` (``:``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        items = self.split_envvar_value(value)
        return [super(SeparatedPathType, self).convert(item, param, ctx) for item in items]


@click.command("run", short_help="Run the server.")
@click.option("--host", "-h", default="127.0.0.1", help="The interface to bind to.")
@click.option("--port", "-p", default=5000, help="The port to bind to.")
@click.option("--cert", type=CertParamType(), is_eager=True, help="A certificate file for HTTPS, or 'adhoc'.")
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key,
    expose_value=False,
    help="The key file for the certificate given with --cert.",
)
@click.option("--reload/--no-reload", default=None, help="Restart on code changes (default: on in debug mode).")
@click.option("--debugger/--no-debugger", default=None, help="Show the interactive debugger on errors (default: on in debug mode).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Serve with a pool of this many threads (the default mode).")
@click.option("--processes", type=click.IntRange(min=1), default=None, help="Serve with this many pre-forked worker processes.")
@click.option(
    "--extra-files",
    default=None,
    type=SeparatedPathType(),
    help=f"Extra files that trigger a reload on change, separated by {os.path.pathsep!r}.",
)
@click.option(
    "--exclude-patterns",
    default=None,
    type=SeparatedPathType(),
    help=f"fnmatch patterns of files that never trigger a reload, separated by {os.path.pathsep!r}.",
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    debugger: bool | None,
    threads: int | None,
    processes: int | None,
    cert: Any,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
) -> None:
    """Serve the app with treadle's server.

    Reloader and debugger are on by default with '--debug'. '--threads N' and
    '--processes N' choose the concurrency model.
    """
    if threads is not None and processes is not None:
        raise click.BadParameter("Use either '--threads' or '--processes', not both.", param_hint="'--processes'")
    try:
        app: Any = info.load_app()
    except Exception as e:
        if not _is_running_from_reloader():
            raise e from None
        # In the reloader's child, keep serving so a fixed file brings the app back.
        traceback.print_exc()
        error = e

        def app(environ: Any, start_response: Any) -> Any:
            raise error from None

    debug = get_debug_flag()
    options: dict[str, Any] = {
        "use_reloader": debug if reload is None else reload,
        "use_debugger": debug if debugger is None else debugger,
        "extra_files": extra_files,
        "exclude_patterns": exclude_patterns,
        "ssl_context": cert,
    }
    if processes is not None and processes > 1:
        options["processes"] = processes
    else:
        options["threaded"] = True
        if threads is not None:
            options["threads"] = threads
    show_server_banner(debug, info.app_import_path)

    from treadle.server.config import options_from_config
    from treadle.serving import run_simple

    # The app's SERVER_* config keys set limits and timeouts; the flags above win.
    options = {**options_from_config(getattr(app, "config", {})), **options}
    run_simple(host, port, app, **options)


run_command.params.insert(0, _debug_option)


@click.command("shell", short_help="Run a shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """An interactive Python shell with the app context pushed; ``app`` and ``g`` are defined."""
    import code

    from treadle.globals import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    banner = f"Python {sys.version} on {sys.platform}\nApp: {app.import_name}\nInstance: {app.instance_path}"
    namespace: dict[str, Any] = {}
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup) as fh:
            eval(compile(fh.read(), startup, "exec"), namespace)
    namespace.update(app.make_shell_context())
    interactive_hook = getattr(sys, "__interactivehook__", None)
    if interactive_hook is not None:
        try:
            import rlcompleter

            readline = sys.modules.get("readline")
            if readline is not None:
                readline.set_completer(rlcompleter.Completer(namespace).complete)
        except ImportError:
            pass
        interactive_hook()
    code.interact(banner=banner, local=namespace)


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help="Order by this column ('match' is the order URLs are matched in).",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS too.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all registered routes with endpoints and methods."""
    from treadle.globals import current_app

    rules = list(current_app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return
    hidden = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = current_app.url_map.host_matching
    has_domain = any(rule.host if host_matching else rule.subdomain for rule in rules)
    rows = []
    for rule in rules:
        row = [
            rule.endpoint,
            ", ".join(sorted((rule.methods or set()) - hidden)),
        ]
        if has_domain:
            row.append((rule.host if host_matching else rule.subdomain) or "")
        row.append(rule.rule)
        rows.append(row)
    headers = ["Endpoint", "Methods"]
    sorts = ["endpoint", "methods"]
    if has_domain:
        headers.append("Host" if host_matching else "Subdomain")
        sorts.append("domain")
    headers.append("Rule")
    sorts.append("rule")
    if sort in sorts:
        index = sorts.index(sort)
        rows.sort(key=lambda row: row[index])
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(headers)]
    template = "  ".join(f"{{{i}:<{width}}}" for i, width in enumerate(widths))
    click.echo(template.format(*headers).rstrip())
    click.echo(template.format(*("-" * width for width in widths)).rstrip())
    for row in rows:
        click.echo(template.format(*row).rstrip())


cli = TreadleGroup(
    name="treadle",
    help=(
        "A general utility script for Treadle applications.\n\nAn application to load must"
        " be given with the '--app' option, the 'TREADLE_APP' environment variable, or with"
        " a 'wsgi.py' or 'app.py' file in the current directory."
    ),
)


def main() -> None:
    """Entry point of the ``treadle`` console script."""
    cli.main()


class TreadleCliRunner(CliRunner):
    """A click runner for an app's commands; see ``Treadle.test_cli_runner``."""

    def __init__(self, app: Treadle, **kwargs: Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(self, cli: Any = None, args: Any = None, **kwargs: Any) -> Result:  # type: ignore[override]
        """Invoke ``cli`` (default: ``app.cli``) with a ScriptInfo that loads this app."""
        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)
        return super().invoke(cli, args, **kwargs)


if __name__ == "__main__":
    main()
