"""A Flask-tutorial-style app (factory, blueprints, sqlite in g, login, flash, CLI command),
written exactly as for Flask except that it imports from treadle."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path
from typing import Any

import click
import pytest

from treadle import (
    Blueprint,
    Treadle,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

TEMPLATES = {
    "base.html": """<!doctype html>
<title>{% block title %}{% endblock %} - Notes</title>
<nav>{% if g.user %}<span>{{ g.user['username'] }}</span>
<a href="{{ url_for('auth.logout') }}">Log Out</a>{% else %}
<a href="{{ url_for('auth.login') }}">Log In</a>{% endif %}</nav>
{% for message in get_flashed_messages() %}<div class="flash">{{ message }}</div>{% endfor %}
{% block content %}{% endblock %}""",
    "auth/login.html": """{% extends 'base.html' %}{% block title %}Log In{% endblock %}
{% block content %}<form method="post"><input name="username"></form>{% endblock %}""",
    "blog/index.html": """{% extends 'base.html' %}{% block title %}Posts{% endblock %}
{% block content %}{% for post in posts %}<article><h1>{{ post['title'] }}</h1>
<p>{{ post['body'] }}</p></article>{% endfor %}{% endblock %}""",
}

SCHEMA = """
DROP TABLE IF EXISTS user;
DROP TABLE IF EXISTS post;
CREATE TABLE user (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL);
CREATE TABLE post (id INTEGER PRIMARY KEY AUTOINCREMENT, author_id INTEGER NOT NULL,
                   title TEXT NOT NULL, body TEXT NOT NULL);
"""


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
    return g.db  # type: ignore[no-any-return]


def close_db(e: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def login_required(view: Any) -> Any:
    @functools.wraps(view)
    def wrapped_view(**kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login"))
        return view(**kwargs)

    return wrapped_view


auth = Blueprint("auth", __name__, url_prefix="/auth")


@auth.before_app_request
def load_logged_in_user() -> None:
    user_id = session.get("user_id")
    g.user = None if user_id is None else get_db().execute("SELECT * FROM user WHERE id = ?", (user_id,)).fetchone()


@auth.route("/login", methods=("GET", "POST"))
def login() -> Any:
    if request.method == "POST":
        username = request.form["username"]
        db = get_db()
        user = db.execute("SELECT * FROM user WHERE username = ?", (username,)).fetchone()
        if user is None:
            flash("Incorrect username.")
        else:
            session.clear()
            session["user_id"] = user["id"]
            return redirect(url_for("index"))
    return render_template("auth/login.html")


@auth.route("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("index"))


blog = Blueprint("blog", __name__)


@blog.route("/")
def index() -> str:
    posts = get_db().execute("SELECT title, body FROM post ORDER BY id DESC").fetchall()
    return render_template("blog/index.html", posts=posts)


@blog.route("/create", methods=("POST",))
@login_required
def create() -> Any:
    title = request.form["title"]
    if not title:
        flash("Title is required.")
        return redirect(url_for("blog.index"))
    db = get_db()
    db.execute(
        "INSERT INTO post (title, body, author_id) VALUES (?, ?, ?)",
        (title, request.form.get("body", ""), g.user["id"]),
    )
    db.commit()
    return redirect(url_for("blog.index"))


def create_app(test_config: dict[str, Any] | None = None, root: str | None = None) -> Treadle:
    app = Treadle(__name__, instance_relative_config=True, root_path=root)
    app.config.from_mapping(SECRET_KEY="dev", DATABASE=str(Path(app.instance_path) / "notes.sqlite"))
    if test_config is not None:
        app.config.from_mapping(test_config)

    app.teardown_appcontext(close_db)

    @app.cli.command("init-db")
    def init_db_command() -> None:
        """Clear the existing data and create new tables."""
        get_db().executescript(SCHEMA)
        click.echo("Initialized the database.")

    app.register_blueprint(auth)
    app.register_blueprint(blog)
    app.add_url_rule("/", endpoint="index")
    return app


@pytest.fixture
def notes_app(tmp_path: Path) -> Treadle:
    for name, source in TEMPLATES.items():
        target = tmp_path / "templates" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "test.sqlite")}, root=str(tmp_path))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert "Initialized" in result.output
    with app.app_context():
        get_db().execute("INSERT INTO user (username) VALUES ('ann')")
        get_db().commit()
    return app


def test_index_lists_posts_and_login_link(notes_app: Treadle) -> None:
    page = notes_app.test_client().get("/").text
    assert "<title>Posts - Notes</title>" in page
    assert 'href="/auth/login"' in page


def test_login_flow_with_session_and_g(notes_app: Treadle) -> None:
    client = notes_app.test_client()
    response = client.post("/auth/login", data={"username": "ann"})
    assert response.headers["Location"] == "/"
    with client:
        client.get("/")
        assert session["user_id"] == 1
        assert g.user["username"] == "ann"


def test_unknown_user_flashes_message(notes_app: Treadle) -> None:
    page = notes_app.test_client().post("/auth/login", data={"username": "bob"}).text
    assert '<div class="flash">Incorrect username.</div>' in page


def test_login_required_redirects(notes_app: Treadle) -> None:
    response = notes_app.test_client().post("/create", data={"title": "x"})
    assert response.headers["Location"] == "/auth/login"


def test_create_post_and_see_it(notes_app: Treadle) -> None:
    client = notes_app.test_client()
    client.post("/auth/login", data={"username": "ann"})
    page = client.post("/create", data={"title": "Hello", "body": "<b>world</b>"}, follow_redirects=True).text
    assert "<h1>Hello</h1>" in page
    assert "&lt;b&gt;world&lt;/b&gt;" in page


def test_logout_clears_session(notes_app: Treadle) -> None:
    client = notes_app.test_client()
    client.post("/auth/login", data={"username": "ann"})
    client.get("/auth/logout")
    with client:
        client.get("/")
        assert "user_id" not in session


def test_db_closed_after_request(notes_app: Treadle) -> None:
    with notes_app.app_context():
        db = get_db()
        assert get_db() is db
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        db.execute("SELECT 1")
