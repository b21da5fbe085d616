"""SERVER_* keys in app.config reach the server through app.run() and `treadle run`.

The server is built for real (make_server, port 0) but asked to stop before it
serves, so run() returns at once.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import treadle.server.serving
from treadle import Treadle
from treadle.cli import cli


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Servers that run_simple builds; each is stopped before it serves."""
    servers: list[Any] = []
    real = treadle.server.serving.make_server

    def make_server(*args: Any, **kwargs: Any) -> Any:
        server = real(*args, **kwargs)
        server.request_stop()
        servers.append(server)
        return server

    monkeypatch.setattr(treadle.server.serving, "make_server", make_server)
    # `treadle run` sets it; set-then-delete makes monkeypatch restore its absence.
    monkeypatch.setenv("TREADLE_RUN_FROM_CLI", "")
    monkeypatch.delenv("TREADLE_RUN_FROM_CLI")
    return servers


def test_app_config_sets_server_timeouts_and_limits(built: list[Any]) -> None:
    app = Treadle(__name__)
    app.config.update(SERVER_HEADER_TIMEOUT=3, SERVER_MAX_BODY=100, SERVER_THREADS=4)
    app.run(port=0, load_dotenv=False)
    config = built[-1].config
    assert config.header_timeout == 3
    assert config.limits.max_body == 100
    assert config.threads == 4


def test_run_arguments_win_over_app_config(built: list[Any]) -> None:
    app = Treadle(__name__)
    app.config["SERVER_KEEPALIVE_TIMEOUT"] = 3
    app.run(port=0, load_dotenv=False, keepalive_timeout=7)
    assert built[-1].config.keepalive_timeout == 7


def test_bad_server_config_value_names_its_config_key(built: list[Any]) -> None:
    app = Treadle(__name__)
    app.config["SERVER_BACKLOG"] = "many"
    with pytest.raises(TypeError, match=r"app.config\['SERVER_BACKLOG'\]: backlog must be an"):
        app.run(port=0, load_dotenv=False)
    assert built == []


def test_treadle_run_reads_the_app_config(tmp_path: Path, built: list[Any]) -> None:
    source = tmp_path / "configured_app.py"
    source.write_text(textwrap.dedent("""
        from treadle import Treadle
        app = Treadle(__name__)
        app.config["SERVER_BODY_TIMEOUT"] = 12
        app.config["SERVER_THREADS"] = 3
    """))
    result = CliRunner().invoke(cli, ["--app", str(source), "run", "--port", "0",
                                      "--threads", "5"])
    assert result.exit_code == 0, result.output
    assert built[-1].config.body_timeout == 12
    assert built[-1].config.threads == 5  # the flag wins
