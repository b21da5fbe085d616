"""Accounts: register, log in, log out; ``g.user`` for every request; ``login_required``.

The session (a signed cookie) holds only the user's id; the user row is loaded per request,
so a deleted account is logged out everywhere at once.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar, cast

from treadle import Blueprint, flash, g, redirect, render_template, request, session, url_for
from treadle.wrappers import Response

from notes.db import get_db
from notes.passwords import check_password, hash_password

__all__ = ["bp", "login_required"]

bp = Blueprint("auth", __name__, url_prefix="/auth")

USERNAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 1024

F = TypeVar("F", bound=Callable[..., Any])


@bp.before_app_request
def load_logged_in_user() -> None:
    """Set ``g.user`` to the logged-in user's row, or None."""
    user_id = session.get("user_id")
    g.user = None
    if user_id is not None:
        g.user = (
            get_db().execute("SELECT id, username FROM user WHERE id = ?", (user_id,)).fetchone()
        )


def login_required(view: F) -> F:
    """Send anonymous visitors to the login page, coming back here afterwards."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def _credentials() -> tuple[str, str]:
    return request.form.get("username", "").strip(), request.form.get("password", "")


def _render_form(template: str, errors: dict[str, str], username: str = "") -> tuple[str, int]:
    """The form again, with what went wrong beside each field (400 when there are errors)."""
    return render_template(template, errors=errors, username=username), 400 if errors else 200


@bp.route("/register", methods=("GET", "POST"))
def register() -> Response | tuple[str, int]:
    """Create an account, then ask the new user to log in."""
    if request.method == "GET":
        return _render_form("auth/register.html", {})
    username, password = _credentials()
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "Choose a username."
    elif len(username) > USERNAME_MAX:
        errors["username"] = f"Usernames are at most {USERNAME_MAX} characters."
    if len(password) < PASSWORD_MIN:
        errors["password"] = f"Passwords need at least {PASSWORD_MIN} characters."
    elif len(password) > PASSWORD_MAX:
        errors["password"] = f"Passwords are at most {PASSWORD_MAX} characters."
    if not errors:
        db = get_db()
        try:
            with db:
                db.execute(
                    "INSERT INTO user (username, password) VALUES (?, ?)",
                    (username, hash_password(password)),
                )
        except sqlite3.IntegrityError:
            errors["username"] = f"The username {username!r} is taken."
        else:
            flash("Account created: log in to start writing notes.")
            return redirect(url_for("auth.login"))
    return _render_form("auth/register.html", errors, username)


def _local_target(target: str | None) -> str | None:
    """``target`` if it is a path on this site; never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/login", methods=("GET", "POST"))
def login() -> Response | tuple[str, int]:
    """Check the password and remember the user in the session."""
    if request.method == "GET":
        return _render_form("auth/login.html", {})
    username, password = _credentials()
    user = (
        get_db().execute("SELECT id, password FROM user WHERE username = ?", (username,)).fetchone()
    )
    if user is None or not check_password(user["password"], password):
        return _render_form("auth/login.html", {"form": "Wrong username or password."}, username)
    session.clear()
    session["user_id"] = user["id"]
    flash(f"Welcome, {username}.")
    target = _local_target(request.args.get("next"))
    # ``next`` is a path inside the app; script_root keeps it under the prefix it is mounted at.
    return redirect(request.script_root + target if target else url_for("notes.index"))


@bp.post("/logout")
def logout() -> Response:
    """Forget the user (a POST, so a link on another site cannot log anyone out)."""
    session.clear()
    flash("Logged out.")
    return redirect(url_for("notes.index"))
