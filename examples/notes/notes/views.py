"""The notes pages: list, write (with validation errors shown), read, delete, attach a file,
download it, and export everything as a streamed text file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

from treadle import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    stream_with_context,
    url_for,
)
from treadle.wrappers import Response

from notes import model
from notes.auth import login_required
from notes.db import get_db

__all__ = ["bp"]

bp = Blueprint("notes", __name__)


def _own_note(note_id: int) -> sqlite3.Row:
    """The logged-in user's note, or 404 (also for other users' notes: no hint they exist)."""
    note = model.get_note(note_id, g.user["id"])
    if note is None:
        abort(404, f"There is no note {note_id}.")
    return note


@bp.get("/")
def index() -> str:
    """The user's notes, or a welcome page for visitors."""
    notes = model.list_notes(g.user["id"]) if g.user is not None else []
    return render_template("notes/index.html", notes=notes)


@bp.route("/notes/new", methods=("GET", "POST"))
@login_required
def create() -> Response | tuple[str, int]:
    """Write a note; on a mistake the form comes back filled in, with the errors."""
    if request.method == "GET":
        return render_template("notes/form.html", errors={}, title="", body=""), 200
    title = request.form.get("title", "")
    body = request.form.get("body", "")
    errors = model.validate_note(title, body)
    if errors:
        return render_template("notes/form.html", errors=errors, title=title, body=body), 400
    note_id = model.create_note(g.user["id"], title, body)
    flash("Note saved.")
    return redirect(url_for("notes.detail", note_id=note_id))


@bp.get("/notes/<int:note_id>")
@login_required
def detail(note_id: int) -> str:
    """One note, with its attachment and the form to upload one."""
    return render_template("notes/detail.html", note=_own_note(note_id))


@bp.post("/notes/<int:note_id>/delete")
@login_required
def delete(note_id: int) -> Response:
    """Delete a note and its attachment."""
    model.delete_note(_own_note(note_id))
    flash("Note deleted.")
    return redirect(url_for("notes.index"))


@bp.post("/notes/<int:note_id>/attachment")
@login_required
def upload(note_id: int) -> Response | tuple[str, int]:
    """Attach the uploaded file to the note, replacing the previous attachment."""
    note = _own_note(note_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        error = "Choose a file to attach."
        return render_template("notes/detail.html", note=note, upload_error=error), 400
    name = model.save_attachment(note, upload)
    flash(f"Attached {name}.")
    return redirect(url_for("notes.detail", note_id=note_id))


@bp.get("/notes/<int:note_id>/attachment")
@login_required
def download(note_id: int) -> Response:
    """The note's attachment, under the name it was uploaded with."""
    note = _own_note(note_id)
    if not note["attachment_file"]:
        abort(404, "This note has no attachment.")
    return send_from_directory(
        current_app.config["UPLOAD_FOLDER"],
        os.path.basename(note["attachment_file"]),
        as_attachment=True,
        download_name=note["attachment_name"],
    )


def _export_lines(cursor: sqlite3.Cursor) -> Iterator[str]:
    """One chunk per note, read from the database as the client reads the response."""
    count = 0
    for note in cursor:
        count += 1
        yield f"# {note['title']}\n{note['created']}\n\n{note['body']}\n\n"
    yield f"-- {count} note{'' if count == 1 else 's'}\n"


@bp.get("/notes/export.txt")
@login_required
def export() -> Response:
    """All the user's notes as one text file, streamed (never built whole in memory)."""
    cursor = get_db().execute(
        "SELECT title, created, body FROM note WHERE author_id = ? ORDER BY id", (g.user["id"],)
    )
    return Response(
        stream_with_context(_export_lines(cursor)),
        mimetype="text/plain",
        headers={"Content-Disposition": "attachment; filename=notes.txt"},
    )
