"""The JSON API under /api: list, create and read the logged-in user's notes; ``whoami``.

Every error under /api (400, 401, 404, 405, 413, ...) answers JSON, whatever raised it.
The API uses the same session cookie as the pages: log in with POST /auth/login first.
"""

from __future__ import annotations

import json
from typing import Any

from treadle import Blueprint, abort, g, jsonify, request, url_for
from treadle.exceptions import HTTPException
from treadle.wrappers import Response

from notes import model

__all__ = ["bp"]

PREFIX = "/api"
bp = Blueprint("api", __name__, url_prefix=PREFIX)


def _user_id() -> int:
    if g.user is None:
        abort(401, "Log in first: POST a username and password to /auth/login.")
    return int(g.user["id"])


@bp.app_errorhandler(HTTPException)
def json_error(e: HTTPException) -> Any:
    """Answer errors on /api paths as JSON, keeping the status and headers (such as Allow)."""
    if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
        return e
    response = e.get_response()
    response.set_data(json.dumps({"error": e.name, "message": e.description}))
    response.content_type = "application/json"
    return response


@bp.get("/notes")
def list_notes() -> Response:
    """The user's notes, newest first."""
    return jsonify(notes=[model.note_json(note) for note in model.list_notes(_user_id())])


@bp.post("/notes")
def create_note() -> tuple[Response, int, dict[str, str]]:
    """Create a note from ``{"title": ..., "body": ...}``; 201 with its URL."""
    author_id = _user_id()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, 'Send a JSON object with Content-Type: application/json, like {"title": "..."}.')
    title, body = data.get("title", ""), data.get("body", "")
    if not isinstance(title, str) or not isinstance(body, str):
        abort(400, "The title and body must be strings.")
    errors = model.validate_note(title, body)
    if errors:
        response = jsonify(error="Bad Request", message="The note is not valid.", fields=errors)
        return response, 400, {}
    note_id = model.create_note(author_id, title, body)
    note = model.get_note(note_id, author_id)
    assert note is not None
    location = url_for("api.get_note", note_id=note_id)
    return jsonify(model.note_json(note)), 201, {"Location": location}


@bp.get("/notes/<int:note_id>")
def get_note(note_id: int) -> Response:
    """One note, or 404."""
    note = model.get_note(note_id, _user_id())
    if note is None:
        abort(404, f"There is no note {note_id}.")
    return jsonify(model.note_json(note))


@bp.get("/whoami")
def whoami() -> Response:
    """How the app sees this request: a check that a reverse proxy's headers are trusted."""
    return jsonify(
        remote_addr=request.remote_addr,
        scheme=request.scheme,
        host=request.host,
        script_root=request.script_root,
        url=request.url,
        index_url=url_for("notes.index", _external=True),
        user=g.user["username"] if g.user is not None else None,
    )
