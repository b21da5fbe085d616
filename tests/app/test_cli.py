"""The treadle CLI: app discovery, run/routes/shell, app.cli commands, env vars."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

import treadle.serving
from tls_files import CRYPTOGRAPHY_MISSING
from treadle import Treadle, current_app
from treadle.cli import (
    AppGroup,
    NoAppException,
    ScriptInfo,
    TreadleGroup,
    cli,
    find_app_by_string,
    find_best_app,
    locate_app,
    prepare_import,
    with_appcontext,
)


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo sys.path and sys.modules changes made by app discovery; keep env vars clean."""
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    monkeypatch.delenv("TREADLE_APP", raising=False)
    monkeypatch.delenv("TREADLE_DEBUG", raising=False)
    monkeypatch.delenv("TREADLE_RUN_FROM_CLI", raising=False)
    yield
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]
    os.environ.pop("TREADLE_RUN_FROM_CLI", None)
    os.environ.pop("TREADLE_DEBUG", None)


def _module(**attrs: Any) -> types.ModuleType:
    module = types.ModuleType("fake_app_module")
    module.__dict__.update(attrs)
    return module


def _write_app(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


APP_SOURCE = """
    from treadle import Treadle
    app = Treadle(__name__)

    @app.get("/")
    def index():
        return "home"

    @app.post("/items/<int:item_id>")
    def update_item(item_id):
        return ""
"""


class RunRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))


@pytest.fixture
def run_simple(monkeypatch: pytest.MonkeyPatch) -> RunRecorder:
    recorder = RunRecorder()
    monkeypatch.setattr(treadle.serving, "run_simple", recorder)
    return recorder


# -- discovery --------------------------------------------------------------------------------


def test_find_best_app_prefers_app_attribute() -> None:
    app, other = Treadle("a"), Treadle("b")
    assert find_best_app(_module(app=app, other=other)) is app


def test_find_best_app_accepts_application_attribute() -> None:
    application = Treadle("a")
    assert find_best_app(_module(application=application)) is application


def test_find_best_app_takes_the_only_instance() -> None:
    web = Treadle("a")
    assert find_best_app(_module(web=web)) is web


def test_find_best_app_refuses_several_instances() -> None:
    with pytest.raises(NoAppException, match="multiple Treadle applications"):
        find_best_app(_module(one=Treadle("a"), two=Treadle("b")))


def test_find_best_app_calls_factory() -> None:
    def create_app() -> Treadle:
        return Treadle("made")

    assert find_best_app(_module(create_app=create_app)).name == "made"


def test_find_best_app_factory_needing_args_explains() -> None:
    def make_app(config: str) -> Treadle:
        return Treadle(config)

    with pytest.raises(NoAppException, match=r"make_app\(args\)"):
        find_best_app(_module(make_app=make_app))


def test_find_best_app_factory_type_error_inside_propagates() -> None:
    def create_app() -> Treadle:
        raise TypeError("bug inside the factory")

    with pytest.raises(TypeError, match="bug inside"):
        find_best_app(_module(create_app=create_app))


def test_find_best_app_nothing_found_explains() -> None:
    with pytest.raises(NoAppException, match="Failed to find a Treadle application"):
        find_best_app(_module(x=1))


def test_find_app_by_string_name_and_call() -> None:
    app = Treadle("named")

    def create_app(name: str, debug: bool = False) -> Treadle:
        made = Treadle(name)
        made.debug = debug
        return made

    module = _module(web=app, create_app=create_app)
    assert find_app_by_string(module, "web") is app
    made = find_app_by_string(module, 'create_app("x", debug=True)')
    assert (made.name, made.debug) == ("x", True)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("create_app(os.environ)", "literal values"),
        ("a.b()", "simple name"),
        ("1 +", "Failed to parse"),
        ("missing", "Failed to find attribute"),
        ("not_an_app", "valid Treadle application"),
    ],
)
def test_find_app_by_string_errors(expression: str, message: str) -> None:
    module = _module(create_app=lambda: Treadle("x"), not_an_app=42)
    with pytest.raises(NoAppException, match=message):
        find_app_by_string(module, expression)


def test_prepare_import_of_file_in_package(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "web.py").write_text("")
    assert prepare_import(str(package / "web.py")) == "pkg.web"
    assert sys.path[0] == str(tmp_path)


def test_locate_app_reports_import_errors_inside_module(tmp_path: Path) -> None:
    _write_app(tmp_path, "broken_app_mod", "import does_not_exist_anywhere\n")
    sys.path.insert(0, str(tmp_path))
    with pytest.raises(NoAppException, match="an ImportError was raised"):
        locate_app("broken_app_mod", None)


def test_locate_app_missing_module() -> None:
    with pytest.raises(NoAppException, match="Could not import 'no_such_module_xyz'"):
        locate_app("no_such_module_xyz", None)
    assert locate_app("no_such_module_xyz", None, raise_if_not_found=False) is None


def _forget_default_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another test (or example) may already have imported a module named app or wsgi.
    for name in ("app", "wsgi"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_script_info_finds_app_py_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _without_app_packages_on_path(monkeypatch)
    _write_app(tmp_path, "app", APP_SOURCE)
    assert ScriptInfo().load_app().name == "app"


def _without_app_packages_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other test directories on sys.path hold an "app" package (tests/app) or a wsgi.py
    # (examples/notes); the default lookup must only see the test's own directory.
    kept = [
        p
        for p in sys.path
        if not any(os.path.exists(os.path.join(p or ".", name)) for name in ("app", "app.py", "wsgi.py"))
    ]
    monkeypatch.setattr(sys, "path", kept)
    _forget_default_modules(monkeypatch)


def test_script_info_without_app_explains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _without_app_packages_on_path(monkeypatch)
    with pytest.raises(NoAppException, match="'treadle --app' option"):
        ScriptInfo().load_app()


def test_script_info_loads_once() -> None:
    calls: list[int] = []

    def create() -> Treadle:
        calls.append(1)
        return Treadle("once")

    info = ScriptInfo(create_app=create)
    assert info.load_app() is info.load_app()
    assert calls == [1]


# -- the command group ------------------------------------------------------------------------


def test_routes_lists_rules_sorted(tmp_path: Path) -> None:
    path = _write_app(tmp_path, "routes_app_mod", APP_SOURCE)
    result = CliRunner().invoke(cli, ["--app", str(path), "routes"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Endpoint", "Methods", "Rule"]
    body = [line.split() for line in lines[2:]]
    assert body[0] == ["index", "GET", "/"]
    assert body[1] == ["static", "GET", "/static/<path:filename>"]
    assert body[2] == ["update_item", "POST", "/items/<int:item_id>"]


def test_routes_all_methods_and_sort_by_rule(tmp_path: Path) -> None:
    path = _write_app(tmp_path, "routes_app_mod2", APP_SOURCE)
    result = CliRunner().invoke(cli, ["--app", str(path), "routes", "--all-methods", "--sort", "rule"])
    assert result.exit_code == 0, result.output
    rows = [line.split(None, 1) for line in result.output.splitlines()[2:]]
    assert [row[0] for row in rows] == ["index", "update_item", "static"]
    assert "HEAD" in rows[0][1] and "OPTIONS" in rows[0][1]


def test_routes_without_rules(tmp_path: Path) -> None:
    path = _write_app(tmp_path, "empty_app_mod", "from treadle import Treadle\napp = Treadle(__name__, static_folder=None)\n")
    result = CliRunner().invoke(cli, ["--app", str(path), "routes"])
    assert result.output == "No routes were registered.\n"


def test_app_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_app(tmp_path, "env_app_mod", APP_SOURCE)
    monkeypatch.setenv("TREADLE_APP", f"{path}:app")
    result = CliRunner().invoke(cli, ["routes"])
    assert result.exit_code == 0, result.output
    assert "update_item" in result.output


def test_factory_call_syntax(tmp_path: Path) -> None:
    path = _write_app(
        tmp_path,
        "factory_app_mod",
        """
        import click
        from treadle import Treadle

        def create_app(label):
            app = Treadle(label)

            @app.cli.command()
            def who():
                click.echo(app.name)

            return app
        """,
    )
    result = CliRunner().invoke(cli, ["--app", f'{path}:create_app("labelled")', "who"])
    assert result.output == "labelled\n"


def test_app_cli_command_runs_in_app_context(tmp_path: Path) -> None:
    path = _write_app(
        tmp_path,
        "cmd_app_mod",
        """
        import click
        from treadle import Treadle, current_app, g

        app = Treadle(__name__)

        @app.cli.command("greet")
        @click.argument("name")
        def greet(name):
            g.seen = True
            click.echo(f"hello {name} from {current_app.name}")
        """,
    )
    result = CliRunner().invoke(cli, ["--app", str(path), "greet", "ann"])
    assert result.output == "hello ann from cmd_app_mod\n"


def test_unknown_command_reports_missing_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _without_app_packages_on_path(monkeypatch)
    result = CliRunner().invoke(cli, ["nonexistent"])
    assert result.exit_code != 0
    assert "Could not locate a Treadle application" in result.output


def test_help_lists_app_commands(tmp_path: Path) -> None:
    path = _write_app(
        tmp_path,
        "help_app_mod",
        """
        from treadle import Treadle
        app = Treadle(__name__)

        @app.cli.command()
        def custom():
            "A custom command."
        """,
    )
    result = CliRunner().invoke(cli, ["--app", str(path), "--help"])
    assert "custom" in result.output
    assert "routes" in result.output


def test_debug_option_sets_environment(tmp_path: Path) -> None:
    path = _write_app(
        tmp_path,
        "debug_app_mod",
        """
        import click
        from treadle import Treadle
        app = Treadle(__name__)

        @app.cli.command()
        def show():
            click.echo(f"debug={app.debug}")
        """,
    )
    result = CliRunner().invoke(cli, ["--app", str(path), "--debug", "show"])
    assert result.output == "debug=True\n"


def test_version_option() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert "Treadle 0.1.0" in result.output


def test_make_context_marks_run_from_cli() -> None:
    group = TreadleGroup(create_app=lambda: Treadle("x"))

    @group.command()
    def noop() -> None:
        click.echo(os.environ.get("TREADLE_RUN_FROM_CLI"))

    assert CliRunner().invoke(group, ["noop"]).output == "true\n"


# -- run --------------------------------------------------------------------------------------


def _run(args: list[str], tmp_path: Path) -> Any:
    path = _write_app(tmp_path, "run_app_mod", APP_SOURCE)
    return CliRunner().invoke(cli, ["--app", str(path), "run", *args])


def test_run_defaults(tmp_path: Path, run_simple: RunRecorder) -> None:
    result = _run([], tmp_path)
    assert result.exit_code == 0, result.output
    (args, kwargs) = run_simple.calls[-1]
    assert args[:2] == ("127.0.0.1", 5000)
    assert args[2].name == "run_app_mod"
    assert kwargs["threaded"] is True
    assert kwargs["use_reloader"] is False
    assert kwargs["use_debugger"] is False
    assert " * Serving Treadle app" in result.output


def test_run_host_port_threads(tmp_path: Path, run_simple: RunRecorder) -> None:
    _run(["--host", "0.0.0.0", "--port", "8001", "--threads", "8"], tmp_path)
    args, kwargs = run_simple.calls[-1]
    assert args[:2] == ("0.0.0.0", 8001)
    assert kwargs["threaded"] is True
    assert kwargs["threads"] == 8


def test_run_processes(tmp_path: Path, run_simple: RunRecorder) -> None:
    _run(["--processes", "3"], tmp_path)
    kwargs = run_simple.calls[-1][1]
    assert kwargs["processes"] == 3
    assert "threaded" not in kwargs


def test_run_threads_and_processes_conflict(tmp_path: Path, run_simple: RunRecorder) -> None:
    result = _run(["--threads", "2", "--processes", "2"], tmp_path)
    assert result.exit_code != 0
    assert "not both" in result.output
    assert run_simple.calls == []


def test_run_debug_turns_on_reloader_and_debugger(tmp_path: Path, run_simple: RunRecorder) -> None:
    _run(["--debug"], tmp_path)
    kwargs = run_simple.calls[-1][1]
    assert kwargs["use_reloader"] is True
    assert kwargs["use_debugger"] is True


def test_run_debug_with_no_reload(tmp_path: Path, run_simple: RunRecorder) -> None:
    _run(["--debug", "--no-reload", "--no-debugger"], tmp_path)
    kwargs = run_simple.calls[-1][1]
    assert kwargs["use_reloader"] is False
    assert kwargs["use_debugger"] is False


def test_run_extra_files_and_exclude_patterns(tmp_path: Path, run_simple: RunRecorder) -> None:
    (tmp_path / "a.cfg").write_text("")
    (tmp_path / "b.cfg").write_text("")
    extra = os.pathsep.join([str(tmp_path / "a.cfg"), str(tmp_path / "b.cfg")])
    _run(["--extra-files", extra, "--exclude-patterns", "*.tmp"], tmp_path)
    kwargs = run_simple.calls[-1][1]
    assert [os.path.basename(p) for p in kwargs["extra_files"]] == ["a.cfg", "b.cfg"]
    assert kwargs["exclude_patterns"] == ["*.tmp"]


def test_run_cert_adhoc(tmp_path: Path, run_simple: RunRecorder) -> None:
    pytest.importorskip("cryptography", reason=CRYPTOGRAPHY_MISSING)
    _run(["--cert", "adhoc"], tmp_path)
    assert run_simple.calls[-1][1]["ssl_context"] == "adhoc"


def test_run_cert_and_key_files(tmp_path: Path, run_simple: RunRecorder) -> None:
    (tmp_path / "c.pem").write_text("")
    (tmp_path / "k.pem").write_text("")
    _run(["--cert", str(tmp_path / "c.pem"), "--key", str(tmp_path / "k.pem")], tmp_path)
    cert, key = run_simple.calls[-1][1]["ssl_context"]
    assert (os.path.basename(cert), os.path.basename(key)) == ("c.pem", "k.pem")


def test_run_cert_without_key_is_an_error(tmp_path: Path, run_simple: RunRecorder) -> None:
    (tmp_path / "c.pem").write_text("")
    result = _run(["--cert", str(tmp_path / "c.pem")], tmp_path)
    assert result.exit_code != 0
    assert 'Required when using "--cert"' in result.output


def test_app_run_inside_cli_import_is_ignored(tmp_path: Path, run_simple: RunRecorder) -> None:
    path = _write_app(
        tmp_path,
        "selfrun_app_mod",
        """
        from treadle import Treadle
        app = Treadle(__name__)
        app.run()
        """,
    )
    result = CliRunner().invoke(cli, ["--app", str(path), "run"])
    assert result.exit_code == 0, result.output
    assert len(run_simple.calls) == 1


# -- shell, with_appcontext, AppGroup ---------------------------------------------------------


def test_shell_has_app_and_shell_context(tmp_path: Path) -> None:
    path = _write_app(
        tmp_path,
        "shell_app_mod",
        """
        from treadle import Treadle
        app = Treadle(__name__)
        app.shell_context_processor(lambda: {"answer": 42})
        """,
    )
    result = CliRunner().invoke(cli, ["--app", str(path), "shell"], input="print(app.name, answer, g)\n")
    assert result.exit_code == 0, result.output
    assert "shell_app_mod 42 <treadle.g of 'shell_app_mod'>" in result.output


def test_with_appcontext_loads_app(tmp_path: Path) -> None:
    @click.command()
    @with_appcontext
    def show() -> None:
        click.echo(current_app.name)

    result = CliRunner().invoke(show, obj=ScriptInfo(create_app=lambda: Treadle("ctx_app")))
    assert result.output == "ctx_app\n"


def test_app_group_subgroups_push_context(app: Treadle) -> None:
    group = AppGroup("tools")

    @group.group()
    def db() -> None:
        pass

    @db.command()
    def init() -> None:
        click.echo(f"init {current_app.name}")

    app.cli.add_command(group)
    result = app.test_cli_runner().invoke(args=["tools", "db", "init"])
    assert result.output == "init app_under_test\n"


def test_command_without_appcontext(app: Treadle) -> None:
    from treadle import has_app_context

    @app.cli.command(with_appcontext=False)
    def bare() -> None:
        click.echo(str(has_app_context()))

    assert app.test_cli_runner().invoke(args=["bare"]).output == "False\n"


def test_console_script_entry_point(tmp_path: Path) -> None:
    path = _write_app(tmp_path, "subproc_app_mod", APP_SOURCE)
    completed = subprocess.run(
        [sys.executable, "-c", "from treadle.cli import main; main()", "--app", str(path), "routes"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "update_item" in completed.stdout


def test_treadle_run_serves_over_a_real_socket(tmp_path: Path) -> None:
    import queue
    import re
    import threading
    import urllib.request

    path = _write_app(tmp_path, "served_app_mod", APP_SOURCE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "treadle", "--app", str(path), "run", "--port", "0", "--threads", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        port = None
        while port is None:
            line = lines.get(timeout=30)
            found = re.search(r"Running on http://127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.read() == b"home"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)
