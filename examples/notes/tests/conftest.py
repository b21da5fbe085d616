"""Fixtures for the notes example: an app on a fresh database in a temporary folder, a client,
and ``auth`` to register and log in. Puts examples/notes on sys.path so ``notes`` imports
from a fresh clone without installing it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
for folder in (TESTS_DIR.parent, TESTS_DIR):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from treadle import Treadle  # noqa: E402
from treadle.testing import TreadleClient  # noqa: E402

from notes import create_app, passwords  # noqa: E402
from notes.db import init_db  # noqa: E402
from notes_helpers import AuthActions  # noqa: E402


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash at a tiny scrypt cost: the real one is slow on purpose and would dominate the run."""
    monkeypatch.setattr(passwords, "SCRYPT_N", 2**4)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Treadle]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE": str(tmp_path / "notes.sqlite"),
            "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        }
    )
    with app.app_context():
        init_db()
    yield app


@pytest.fixture
def client(app: Treadle) -> TreadleClient:
    return app.test_client()


@pytest.fixture
def auth(client: TreadleClient) -> AuthActions:
    return AuthActions(client)
