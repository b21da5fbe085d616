"""The JSON API: list, create, get; every error under /api is JSON."""

from __future__ import annotations

import pytest
from treadle.testing import TreadleClient

from notes_helpers import AuthActions


@pytest.fixture
def api(auth: AuthActions, client: TreadleClient) -> TreadleClient:
    auth.register_and_login()
    return client


def test_create_returns_201_with_location_and_the_note(api: TreadleClient) -> None:
    response = api.post("/api/notes", json={"title": "From the API", "body": "hello"})
    assert response.status_code == 201
    assert response.headers["Location"] == "/api/notes/1"
    assert response.json["title"] == "From the API"
    assert response.json["attachment"] is None


def test_list_shows_notes_newest_first(api: TreadleClient) -> None:
    api.post("/api/notes", json={"title": "old"})
    api.post("/api/notes", json={"title": "new"})
    assert [n["title"] for n in api.get("/api/notes").json["notes"]] == ["new", "old"]


def test_get_returns_one_note(api: TreadleClient) -> None:
    api.post("/api/notes", json={"title": "t", "body": "b"})
    assert api.get("/api/notes/1").json["body"] == "b"


def test_missing_note_is_json_404(api: TreadleClient) -> None:
    response = api.get("/api/notes/42")
    assert response.status_code == 404
    assert response.json == {"error": "Not Found", "message": "There is no note 42."}


def test_unknown_api_path_is_json_404(client: TreadleClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["error"] == "Not Found"


def test_wrong_method_is_json_405_with_allow(client: TreadleClient) -> None:
    response = client.delete("/api/notes")
    assert response.status_code == 405
    assert response.json["error"] == "Method Not Allowed"
    assert "POST" in response.headers["Allow"]


def test_errors_outside_api_stay_html(client: TreadleClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_anonymous_request_is_json_401(client: TreadleClient) -> None:
    response = client.get("/api/notes")
    assert response.status_code == 401
    assert "Log in first" in response.json["message"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": "title=x"}, "Send a JSON object"),
        ({"data": "{not json", "content_type": "application/json"}, "Send a JSON object"),
        ({"json": ["a list"]}, "Send a JSON object"),
        ({"json": {"title": 5}}, "must be strings"),
    ],
)
def test_malformed_body_is_json_400(
    api: TreadleClient, kwargs: dict[str, object], message: str
) -> None:
    response = api.post("/api/notes", **kwargs)
    assert response.status_code == 400
    assert message in response.json["message"]


def test_invalid_note_is_400_naming_the_fields(api: TreadleClient) -> None:
    response = api.post("/api/notes", json={"title": " "})
    assert response.status_code == 400
    assert response.json["fields"] == {"title": "A note needs a title."}


def test_notes_of_another_user_are_invisible(auth: AuthActions, client: TreadleClient) -> None:
    auth.register_and_login("ann")
    client.post("/api/notes", json={"title": "ann's"})
    auth.logout()
    auth.register_and_login("bob")
    assert client.get("/api/notes").json == {"notes": []}
    assert client.get("/api/notes/1").status_code == 404


def test_whoami_reports_the_request_as_the_app_sees_it(api: TreadleClient) -> None:
    data = api.get("/api/whoami").json
    assert data == {
        "remote_addr": "127.0.0.1",
        "scheme": "http",
        "host": "localhost",
        "script_root": "",
        "url": "http://localhost/api/whoami",
        "index_url": "http://localhost/",
        "user": "ann",
    }
