"""Treadle: a Flask-compatible web framework with a production-grade server."""

from __future__ import annotations

__version__ = "0.1.0"
