"""Request and Response: the objects a view reads and returns, with Werkzeug's API.

``request.py`` owns reading a request (lazily, from the environ); ``response.py``
owns building and sending a response.
"""

from __future__ import annotations

from treadle.wrappers.request import Request, UserAgent
from treadle.wrappers.response import Response

__all__ = ["Request", "Response", "UserAgent"]
