"""Helpers the notes tests share: a known password and ``AuthActions``."""

from __future__ import annotations

from typing import Any

from treadle.testing import TreadleClient

PASSWORD = "correct horse battery"


class AuthActions:
    """Register and log in through the real forms, as a browser would."""

    def __init__(self, client: TreadleClient) -> None:
        self.client = client

    def register(self, username: str = "ann", password: str = PASSWORD) -> Any:
        return self.client.post("/auth/register", data={"username": username, "password": password})

    def login(self, username: str = "ann", password: str = PASSWORD) -> Any:
        return self.client.post("/auth/login", data={"username": username, "password": password})

    def register_and_login(self, username: str = "ann") -> Any:
        assert self.register(username).status_code == 302
        response = self.login(username)
        assert response.status_code == 302
        return response

    def logout(self) -> Any:
        return self.client.post("/auth/logout")
