"""Protocol errors: which side broke HTTP/1.1, and the status that answers it.

``message`` is short and names only what was wrong, never echoing client
bytes, so the server may send it to the client as is.
"""

from __future__ import annotations

__all__ = ["LocalProtocolError", "ProtocolError", "RemoteProtocolError"]


class ProtocolError(Exception):
    """Base class: ``status`` is the HTTP status the error maps to."""

    status: int
    message: str

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status})"


class RemoteProtocolError(ProtocolError):
    """The peer sent bad input: answer ``status`` once and close the connection."""


class LocalProtocolError(ProtocolError):
    """Our side (the app or server) tried to send something invalid; the server answers 500."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message, status)
