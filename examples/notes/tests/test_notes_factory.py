"""create_app: configuration sources, the init-db command, the proxy option."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from treadle import Treadle

from notes import create_app
from notes.db import get_db


def test_test_config_turns_testing_on(app: Treadle, tmp_path: Path) -> None:
    assert app.testing
    assert not create_app({"SECRET_KEY": "x", "UPLOAD_FOLDER": str(tmp_path)}).testing


def test_environment_variables_with_notes_prefix_configure_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTES_SECRET_KEY", "from-env")
    monkeypatch.setenv("NOTES_DATABASE", str(tmp_path / "env.sqlite"))
    monkeypatch.setenv("NOTES_UPLOAD_FOLDER", str(tmp_path / "up"))
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["DATABASE"] == str(tmp_path / "env.sqlite")
    assert (tmp_path / "up").is_dir()


def test_default_secret_key_outside_debug_logs_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTES_UPLOAD_FOLDER", str(tmp_path / "up"))
    create_app()
    assert "NOTES_SECRET_KEY" in caplog.text


def test_init_db_command_creates_the_tables(app: Treadle) -> None:
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Initialized" in result.output
    with app.app_context():
        tables = {row[0] for row in get_db().execute("SELECT name FROM sqlite_master")}
    assert {"user", "note"} <= tables


def test_connection_is_reused_within_a_context_and_closed_after(app: Treadle) -> None:
    with app.app_context():
        db = get_db()
        assert get_db() is db
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        db.execute("SELECT 1")


def test_proxy_fix_hops_trust_forwarded_headers(tmp_path: Path) -> None:
    app = create_app({"PROXY_FIX_HOPS": 1, "UPLOAD_FOLDER": str(tmp_path)})
    response = app.test_client().get(
        "/api/whoami",
        headers={
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "notes.example",
            "X-Forwarded-Prefix": "/notes",
        },
    )
    assert response.json["remote_addr"] == "203.0.113.7"
    assert response.json["index_url"] == "https://notes.example/notes/"


def test_without_proxy_fix_forwarded_headers_are_ignored(client: object, app: Treadle) -> None:
    response = app.test_client().get(
        "/api/whoami", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "evil"}
    )
    assert response.json["remote_addr"] == "127.0.0.1"
    assert response.json["index_url"] == "http://localhost/"
