"""The SQLite connection: one per app context on ``g``, closed at teardown; the ``init-db`` command.

SQLite suits one machine. Several machines behind a load balancer need a shared database
server instead (see docs/deploy.md).
"""

from __future__ import annotations

import sqlite3

import click
from treadle import Treadle, current_app, g
from treadle.cli import AppGroup

__all__ = ["close_db", "get_db", "init_app", "init_db"]


def get_db() -> sqlite3.Connection:
    """This request's connection, opened on first use."""
    if "db" not in g:
        # A server may iterate a streamed response on another thread than the view's, one
        # after the other; the connection is never used by two threads at once.
        db = sqlite3.connect(current_app.config["DATABASE"], check_same_thread=False)
        db.row_factory = sqlite3.Row
        # Concurrent workers wait for a writer instead of failing at once with "database is locked".
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA foreign_keys = ON")
        g.db = db
    return g.db  # type: ignore[no-any-return]


def close_db(exc: BaseException | None = None) -> None:
    """Close the connection if this context opened one."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db() -> None:
    """Create the tables, dropping any that exist."""
    db = get_db()
    with current_app.open_resource("schema.sql") as f:
        db.executescript(f.read().decode("utf-8"))
    # WAL lets readers run while one worker writes; the setting is stored in the file.
    db.execute("PRAGMA journal_mode = WAL")


def init_app(app: Treadle) -> None:
    """Close the connection after each request and add ``init-db`` to the CLI."""
    app.teardown_appcontext(close_db)

    # app.cli commands run inside the app's context, so get_db() finds the config.
    cli: AppGroup = app.cli

    @cli.command("init-db")
    def init_db_command() -> None:
        """Clear the existing data and create new tables."""
        init_db()
        click.echo("Initialized the database.")
