"""Register, log in, log out: forms re-rendered with errors, the session, safe redirects."""

from __future__ import annotations

import pytest
from treadle import Treadle
from treadle.testing import TreadleClient

from notes.db import get_db
from notes_helpers import PASSWORD, AuthActions


def test_register_then_redirects_to_login_with_a_flash(
    auth: AuthActions, client: TreadleClient
) -> None:
    response = auth.register()
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert "Account created" in client.get("/auth/login").text


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", PASSWORD, "Choose a username."),
        ("x" * 65, PASSWORD, "at most 64 characters"),
        ("bob", "short", "at least 8 characters"),
    ],
)
def test_invalid_registration_rerenders_the_form_with_the_error(
    auth: AuthActions, username: str, password: str, message: str
) -> None:
    response = auth.register(username, password)
    assert response.status_code == 400
    assert message in response.text
    assert f'value="{username}"' in response.text


def test_taken_username_is_refused(auth: AuthActions) -> None:
    auth.register()
    response = auth.register()
    assert response.status_code == 400
    assert "is taken" in response.text


def test_login_puts_the_user_id_in_the_session(auth: AuthActions, client: TreadleClient) -> None:
    auth.register()
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert session["user_id"] == 1
    assert "ann" in client.get("/").text


@pytest.mark.parametrize(
    ("username", "password"), [("nobody", PASSWORD), ("ann", "wrong password")]
)
def test_wrong_credentials_rerender_login_with_one_vague_error(
    auth: AuthActions, username: str, password: str
) -> None:
    auth.register()
    response = auth.login(username, password)
    assert response.status_code == 400
    assert "Wrong username or password." in response.text


def test_logout_clears_the_session(auth: AuthActions, client: TreadleClient) -> None:
    auth.register_and_login()
    response = auth.logout()
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "user_id" not in session


def test_logout_by_get_is_not_allowed(client: TreadleClient) -> None:
    assert client.get("/auth/logout").status_code == 405


def test_login_required_pages_redirect_to_login_with_next(client: TreadleClient) -> None:
    response = client.get("/notes/new")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/notes/new"


def test_login_returns_to_a_local_next_path(auth: AuthActions, client: TreadleClient) -> None:
    auth.register()
    response = client.post(
        "/auth/login?next=/notes/new", data={"username": "ann", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/notes/new"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(
    auth: AuthActions, client: TreadleClient, target: str
) -> None:
    auth.register()
    response = client.post(
        "/auth/login", query_string={"next": target}, data={"username": "ann", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_samesite_lax(auth: AuthActions) -> None:
    auth.register()
    cookie = auth.login().headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_deleted_user_is_logged_out(auth: AuthActions, client: TreadleClient, app: Treadle) -> None:
    auth.register_and_login()
    with app.app_context():
        db = get_db()
        db.execute("DELETE FROM user")
        db.commit()
    assert client.get("/notes/new").status_code == 302


def test_login_next_stays_under_the_mount_prefix(auth: AuthActions, client: TreadleClient) -> None:
    auth.register()
    response = client.post(
        "/auth/login?next=/notes/new",
        base_url="http://localhost/mounted/",
        data={"username": "ann", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/mounted/notes/new"
