"""The notes pages: index, the note form, detail, delete, upload/download, streamed export."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from treadle import Treadle
from treadle.testing import TreadleClient

from notes_helpers import AuthActions


def _new_note(client: TreadleClient, title: str = "Groceries", body: str = "eggs") -> str:
    response = client.post("/notes/new", data={"title": title, "body": body})
    assert response.status_code == 302, response.text
    return str(response.headers["Location"])


def test_index_welcomes_visitors_with_links_to_register_and_log_in(client: TreadleClient) -> None:
    text = client.get("/").text
    assert 'href="/auth/register"' in text
    assert 'href="/auth/login"' in text


def test_index_lists_only_the_users_own_notes(auth: AuthActions, client: TreadleClient) -> None:
    auth.register_and_login("ann")
    _new_note(client, "Ann's note")
    auth.logout()
    auth.register_and_login("bob")
    _new_note(client, "Bob's note")
    text = client.get("/").text
    assert "Bob&#39;s note" in text
    assert "Ann" not in text


def test_base_layout_links_the_stylesheet_and_it_is_served(client: TreadleClient) -> None:
    assert 'href="/static/style.css"' in client.get("/").text
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_new_note_redirects_to_it_and_flashes(auth: AuthActions, client: TreadleClient) -> None:
    auth.register_and_login()
    location = _new_note(client, "Groceries", "eggs <b>")
    assert location == "/notes/1"
    text = client.get(location).text
    assert "Note saved." in text
    assert "eggs &lt;b&gt;" in text


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [
        ("", "kept body", "A note needs a title."),
        ("x" * 201, "", "at most 200 characters"),
        ("ok", "y" * 20_001, "at most 20000 characters"),
    ],
)
def test_invalid_note_rerenders_the_form_keeping_what_was_typed(
    auth: AuthActions, client: TreadleClient, title: str, body: str, message: str
) -> None:
    auth.register_and_login()
    response = client.post("/notes/new", data={"title": title, "body": body})
    assert response.status_code == 400
    assert message in response.text
    assert body[:50] in response.text


def test_another_users_note_is_not_found(auth: AuthActions, client: TreadleClient) -> None:
    auth.register_and_login("ann")
    location = _new_note(client)
    auth.logout()
    auth.register_and_login("bob")
    assert client.get(location).status_code == 404
    assert client.post(location + "/delete").status_code == 404


def test_delete_removes_the_note_and_its_file(
    auth: AuthActions, client: TreadleClient, app: Treadle
) -> None:
    auth.register_and_login()
    location = _new_note(client)
    client.post(location + "/attachment", data={"file": (io.BytesIO(b"data"), "a.txt")})
    assert os.listdir(app.config["UPLOAD_FOLDER"])
    response = client.post(location + "/delete")
    assert response.headers["Location"] == "/"
    assert client.get(location).status_code == 404
    assert os.listdir(app.config["UPLOAD_FOLDER"]) == []


def test_uploaded_file_downloads_with_the_same_bytes_and_name(
    auth: AuthActions, client: TreadleClient
) -> None:
    auth.register_and_login()
    location = _new_note(client)
    payload = bytes(range(256)) * 40
    response = client.post(
        location + "/attachment", data={"file": (io.BytesIO(payload), "scan.pdf")}
    )
    assert response.headers["Location"] == location
    download = client.get(location + "/attachment")
    assert download.status_code == 200
    assert download.data == payload
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=scan.pdf"


def test_upload_stores_a_random_name_never_the_clients_path(
    auth: AuthActions, client: TreadleClient, app: Treadle
) -> None:
    auth.register_and_login()
    location = _new_note(client)
    client.post(location + "/attachment", data={"file": (io.BytesIO(b"x"), "../../etc/passwd")})
    (stored,) = os.listdir(app.config["UPLOAD_FOLDER"])
    assert stored.startswith("1-")
    assert "passwd" in client.get(location).text
    assert not (Path(app.config["UPLOAD_FOLDER"]).parent.parent / "etc").exists()


def test_new_attachment_replaces_the_old_file(
    auth: AuthActions, client: TreadleClient, app: Treadle
) -> None:
    auth.register_and_login()
    location = _new_note(client)
    client.post(location + "/attachment", data={"file": (io.BytesIO(b"one"), "a.txt")})
    client.post(location + "/attachment", data={"file": (io.BytesIO(b"two"), "b.txt")})
    assert len(os.listdir(app.config["UPLOAD_FOLDER"])) == 1
    assert client.get(location + "/attachment").data == b"two"


def test_upload_without_a_file_shows_the_error(auth: AuthActions, client: TreadleClient) -> None:
    auth.register_and_login()
    location = _new_note(client)
    response = client.post(location + "/attachment", data={})
    assert response.status_code == 400
    assert "Choose a file to attach." in response.text


def test_upload_over_the_size_limit_is_413(
    auth: AuthActions, client: TreadleClient, app: Treadle
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    auth.register_and_login()
    location = _new_note(client)
    response = client.post(
        location + "/attachment", data={"file": (io.BytesIO(b"x" * 4096), "big")}
    )
    assert response.status_code == 413


def test_download_without_attachment_is_404(auth: AuthActions, client: TreadleClient) -> None:
    auth.register_and_login()
    location = _new_note(client)
    assert client.get(location + "/attachment").status_code == 404


def test_export_streams_every_note_as_text(auth: AuthActions, client: TreadleClient) -> None:
    auth.register_and_login()
    _new_note(client, "First", "one")
    _new_note(client, "Second", "two")
    response = client.get("/notes/export.txt", buffered=False)
    assert response.is_streamed
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.index("# First") < text.index("# Second")
    assert text.endswith("-- 2 notes\n")
