"""The notes app for WSGI servers: ``gunicorn wsgi:app`` from this directory.

Configure it with ``NOTES_*`` environment variables (see notes/__init__.py and README.md).
"""

from __future__ import annotations

from notes import create_app

app = create_app()
