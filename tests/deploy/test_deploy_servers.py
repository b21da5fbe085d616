"""The notes example under each real server: pages, forms with a session, uploads, a streamed
response and the JSON API, over real sockets on 127.0.0.1.

One server per parameter, started once for the module; each test logs in its own way.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_client import Browser
from deploy_servers import SERVERS, Site, start_nginx_site, start_server

PASSWORD = "deploy password 123"
SITES = [*sorted(SERVERS), "nginx-treadle"]


@pytest.fixture(scope="module", params=SITES)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    name: str = request.param
    tmp: Path = tmp_path_factory.mktemp(name)
    started = start_nginx_site(tmp) if name == "nginx-treadle" else start_server(name, tmp)
    yield started
    started.stop()


def _sign_up(site: Site, username: str) -> Browser:
    browser = Browser(site.base_url)
    fields = {"username": username, "password": PASSWORD}
    registered = browser.post_form("/auth/register", fields)
    assert registered.status == 302, registered.text
    assert registered.headers["Location"] == site.prefix + "/auth/login"
    logged_in = browser.post_form("/auth/login", fields)
    assert logged_in.status == 302, logged_in.text
    assert logged_in.headers["Location"] == site.prefix + "/"
    return browser


@pytest.fixture(scope="module")
def member(site: Site) -> Browser:
    """A user registered and logged in once per server."""
    return _sign_up(site, "member")


def _new_note(browser: Browser, site: Site, title: str, body: str) -> str:
    """Create a note through the form; its path inside the app."""
    reply = browser.post_form("/notes/new", {"title": title, "body": body})
    assert reply.status == 302, reply.text
    location = reply.headers["Location"]
    assert location.startswith(site.prefix + "/notes/")
    return location.removeprefix(site.prefix)


def test_home_page_renders_with_its_stylesheet(site: Site) -> None:
    browser = Browser(site.base_url)
    page = browser.get("/")
    assert page.status == 200
    assert page.headers.get_content_type() == "text/html"
    assert "Register" in page.text
    assert f'href="{site.prefix}/static/style.css"' in page.text
    css = browser.get("/static/style.css")
    assert css.status == 200
    assert b"font:" in css.body


def test_session_cookie_from_login_is_honoured_on_later_requests(site: Site) -> None:
    browser = _sign_up(site, "session-user")
    assert "session-user" in browser.get("/").text
    assert browser.get("/api/whoami").json()["user"] == "session-user"
    assert Browser(site.base_url).get("/api/whoami").json()["user"] is None


def test_logout_ends_the_session(site: Site) -> None:
    browser = _sign_up(site, "leaving-user")
    assert browser.post_form("/auth/logout", {}).status == 302
    assert browser.get("/api/whoami").json()["user"] is None


def test_invalid_form_is_rerendered_with_its_errors(site: Site, member: Browser) -> None:
    reply = member.post_form("/notes/new", {"title": "", "body": "kept text"})
    assert reply.status == 400
    assert "A note needs a title." in reply.text
    assert "kept text" in reply.text


def test_uploaded_file_downloads_as_the_same_bytes(site: Site, member: Browser) -> None:
    path = _new_note(member, site, "With a file", "see attachment")
    payload = random.Random(5).randbytes(300_000)
    uploaded = member.post_files(path + "/attachment", {"file": ("data.bin", payload)})
    assert uploaded.status == 302, uploaded.text
    download = member.get(path + "/attachment")
    assert download.status == 200
    assert download.headers["Content-Disposition"] == "attachment; filename=data.bin"
    assert len(download.body) == len(payload)
    assert download.body == payload


def test_streamed_export_is_read_whole(site: Site, member: Browser) -> None:
    for number in range(3):
        _new_note(member, site, f"Export {number}", f"line {number}\n" * 2000)
    notes = member.get("/api/notes").json()["notes"]
    export = member.get("/notes/export.txt")
    assert export.status == 200
    assert export.headers.get_content_type() == "text/plain"
    titles = re.findall(r"^# (.*)$", export.text, re.MULTILINE)
    assert titles == [note["title"] for note in reversed(notes)]
    assert export.text.count("line 2\n") == 2000
    assert export.text.endswith(f"-- {len(notes)} notes\n")


def test_json_api_creates_lists_and_reads_notes(site: Site, member: Browser) -> None:
    created = member.post_json("/api/notes", {"title": "From JSON", "body": "api body"})
    assert created.status == 201
    note = created.json()
    assert created.headers["Location"] == f"{site.prefix}/api/notes/{note['id']}"
    assert member.get(f"/api/notes/{note['id']}").json() == note
    assert note in member.get("/api/notes").json()["notes"]


def test_json_api_errors_are_json(site: Site, member: Browser) -> None:
    missing = member.get("/api/notes/999999")
    assert missing.status == 404
    assert missing.json()["message"] == "There is no note 999999."
    malformed = member.request("POST", "/api/notes", b"{oops", {"Content-Type": "application/json"})
    assert malformed.status == 400
    assert "Send a JSON object" in malformed.json()["message"]
    anonymous = Browser(site.base_url).get("/api/notes")
    assert anonymous.status == 401
