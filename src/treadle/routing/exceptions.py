"""Routing errors: redirects to the canonical URL, build failures, WebSocket mismatches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from treadle.exceptions import BadRequest, HTTPException

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from treadle.routing.map import MapAdapter
    from treadle.routing.rules import Rule


class RoutingException(Exception):
    """Base of the routing errors that are not plain HTTP errors."""


class RequestRedirect(HTTPException, RoutingException):
    """The URL is not canonical (missing slash, merged slashes, defaults): go to ``new_url``.

    308 keeps the method and body, so a redirected POST stays a POST.
    """

    code = 308

    def __init__(self, new_url: str) -> None:
        super().__init__(f"This resource lives at {new_url}.")
        self.new_url = new_url

    def get_headers(self, environ: WSGIEnvironment | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        headers.append(("Location", self.new_url))
        return headers


class WebsocketMismatch(BadRequest):
    """The only rule for this URL is for WebSocket and the request is plain HTTP, or
    the other way round."""


class BuildError(RoutingException, LookupError):
    """No rule can build a URL for this endpoint, values and method."""

    def __init__(
        self,
        endpoint: Any,
        values: Mapping[str, Any],
        method: str | None,
        adapter: MapAdapter | None = None,
    ) -> None:
        super().__init__(endpoint, values, method)
        self.endpoint = endpoint
        self.values = values
        self.method = method
        self.adapter = adapter

    @property
    def suggested(self) -> Rule | None:
        """The rule the caller most likely meant, to name in the message."""
        if self.adapter is None or not self.adapter.map._rules:
            return None
        import difflib  # only a failed url_for gets here

        def score(rule: Rule) -> float:
            similar = difflib.SequenceMatcher(None, str(rule.endpoint), str(self.endpoint))
            return (
                0.98 * similar.ratio()
                + 0.01 * set(self.values).issubset(rule.arguments)
                + 0.01 * bool(rule.methods and self.method in rule.methods)
            )

        return max(self.adapter.map._rules, key=score)

    def __str__(self) -> str:
        message = f"Could not build url for endpoint {self.endpoint!r}"
        if self.method:
            message += f" ({self.method!r})"
        if self.values:
            message += f" with values {sorted(self.values)!r}"
        message += "."
        rule = self.suggested
        if rule is None:
            return message
        if rule.endpoint != self.endpoint:
            return f"{message} Did you mean {rule.endpoint!r} instead?"
        if self.method and rule.methods is not None and self.method not in rule.methods:
            message += f" Did you mean to use methods {sorted(rule.methods)!r}?"
        missing = (rule.arguments | set(rule.defaults or ())) - set(self.values)
        if missing:
            message += f" Did you forget to specify values {sorted(missing)!r}?"
        return message
