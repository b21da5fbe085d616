"""Notes in the database: the queries and the validation rules the page and the API share.

Every query is scoped to an author: a note that belongs to someone else reads as missing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from typing import Any

from treadle import current_app
from treadle.datastructures import FileStorage

from notes.db import get_db

__all__ = [
    "attachment_path",
    "create_note",
    "delete_note",
    "get_note",
    "list_notes",
    "note_json",
    "save_attachment",
    "validate_note",
]

TITLE_MAX = 200
BODY_MAX = 20_000
FILENAME_MAX = 255

_COLUMNS = "id, author_id, created, title, body, attachment_name, attachment_file"


def validate_note(title: str, body: str) -> dict[str, str]:
    """What is wrong with a note, by field; empty when it can be saved."""
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "A note needs a title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Titles are at most {TITLE_MAX} characters."
    if len(body) > BODY_MAX:
        errors["body"] = f"Notes are at most {BODY_MAX} characters."
    return errors


def list_notes(author_id: int) -> list[sqlite3.Row]:
    """The author's notes, newest first."""
    return (
        get_db()
        .execute(f"SELECT {_COLUMNS} FROM note WHERE author_id = ? ORDER BY id DESC", (author_id,))
        .fetchall()
    )


def get_note(note_id: int, author_id: int) -> sqlite3.Row | None:
    """The note if it exists and ``author_id`` wrote it."""
    row: sqlite3.Row | None = (
        get_db()
        .execute(
            f"SELECT {_COLUMNS} FROM note WHERE id = ? AND author_id = ?", (note_id, author_id)
        )
        .fetchone()
    )
    return row


def create_note(author_id: int, title: str, body: str) -> int:
    """Store a valid note and return its id."""
    db = get_db()
    with db:
        cursor = db.execute(
            "INSERT INTO note (author_id, title, body) VALUES (?, ?, ?)",
            (author_id, title.strip(), body),
        )
    return int(cursor.lastrowid or 0)


def attachment_path(note: sqlite3.Row) -> str | None:
    """Where the note's attachment is stored on disk."""
    if not note["attachment_file"]:
        return None
    return os.path.join(str(current_app.config["UPLOAD_FOLDER"]), str(note["attachment_file"]))


def _remove_file(path: str | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def delete_note(note: sqlite3.Row) -> None:
    """Delete the note and its attachment."""
    db = get_db()
    with db:
        db.execute("DELETE FROM note WHERE id = ?", (note["id"],))
    _remove_file(attachment_path(note))


def clean_filename(filename: str | None) -> str:
    """The last path part of a client's file name, for display only ('' if nothing is left)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return "" if name in {".", ".."} else name[:FILENAME_MAX]


def save_attachment(note: sqlite3.Row, upload: FileStorage) -> str:
    """Store ``upload`` as the note's attachment, replacing any previous one; its clean name.

    The file on disk gets a fresh random name, so nothing the client sends ends up in a path.
    """
    name = clean_filename(upload.filename) or "attachment"
    stored = f"{note['id']}-{uuid.uuid4().hex}"
    upload.save(os.path.join(current_app.config["UPLOAD_FOLDER"], stored))
    db = get_db()
    with db:
        db.execute(
            "UPDATE note SET attachment_name = ?, attachment_file = ? WHERE id = ?",
            (name, stored, note["id"]),
        )
    _remove_file(attachment_path(note))
    return name


def note_json(note: sqlite3.Row) -> dict[str, Any]:
    """The note as the API shows it."""
    return {
        "id": note["id"],
        "title": note["title"],
        "body": note["body"],
        "created": note["created"],
        "attachment": note["attachment_name"],
    }
