"""HTTP errors as exceptions: HTTPException, one subclass per 4xx/5xx status, and abort().

A view raises one; the app layer (or the exception itself, called as a WSGI app)
turns it into a response. Reason phrases come only from ``httputil.HTTP_STATUS_CODES``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from treadle.httputil import HTTP_STATUS_CODES, escape_html, http_date

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from treadle.wrappers import Response

__all__ = [
    "Aborter",
    "BadGateway",
    "BadHost",
    "BadRequest",
    "BadRequestKeyError",
    "ClientDisconnected",
    "Conflict",
    "ExpectationFailed",
    "FailedDependency",
    "Forbidden",
    "GatewayTimeout",
    "Gone",
    "HTTPException",
    "HTTPVersionNotSupported",
    "ImATeapot",
    "InternalServerError",
    "LengthRequired",
    "Locked",
    "MethodNotAllowed",
    "MisdirectedRequest",
    "NotAcceptable",
    "NotFound",
    "NotImplemented",
    "PreconditionFailed",
    "PreconditionRequired",
    "RequestEntityTooLarge",
    "RequestHeaderFieldsTooLarge",
    "RequestTimeout",
    "RequestURITooLarge",
    "RequestedRangeNotSatisfiable",
    "SecurityError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnavailableForLegalReasons",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "abort",
    "default_exceptions",
]


class HTTPException(Exception):
    """An error that is also a response: raise it from a view to answer with its status.

    Pass ``response`` to answer with that exact response instead of the HTML page.
    """

    code: int | None = None
    description: str | None = None

    def __init__(self, description: str | None = None, response: Response | None = None) -> None:
        super().__init__()
        if description is not None:
            self.description = description
        self.response = response

    @property
    def name(self) -> str:
        """The reason phrase for ``code``."""
        return HTTP_STATUS_CODES.get(self.code or 500, "Unknown Error")

    def get_description(self, environ: WSGIEnvironment | None = None) -> str:
        """The description as escaped HTML, newlines kept as line breaks."""
        text = escape_html(self.description or "").replace("\n", "<br>")
        return f"<p>{text}</p>"

    def get_body(self, environ: WSGIEnvironment | None = None) -> str:
        """The small HTML page sent to the client."""
        return (
            "<!doctype html>\n<html lang=en>\n"
            f"<title>{self.code} {escape_html(self.name)}</title>\n"
            f"<h1>{escape_html(self.name)}</h1>\n"
            f"{self.get_description(environ)}\n"
        )

    def get_headers(self, environ: WSGIEnvironment | None = None) -> list[tuple[str, str]]:
        """Headers of the error response; subclasses add Allow, Retry-After and friends."""
        return [("Content-Type", "text/html; charset=utf-8")]

    def get_response(self, environ: WSGIEnvironment | None = None) -> Response:
        """The response to send: the one given at construction, or the HTML error page."""
        if self.response is not None:
            return self.response
        from treadle.wrappers import Response  # the wrappers import this module

        return Response(self.get_body(environ), self.code or 500, self.get_headers(environ))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body: Iterable[bytes] = self.get_response(environ)(environ, start_response)
        return body

    def __str__(self) -> str:
        code = self.code if self.code is not None else "???"
        return f"{code} {self.name}: {self.description}"

    def __repr__(self) -> str:
        code = self.code if self.code is not None else "???"
        return f"<{type(self).__name__} '{code}: {self.name}'>"


class BadRequest(HTTPException):
    code = 400
    description = "The browser (or proxy) sent a request that this server could not understand."


class BadRequestKeyError(BadRequest, KeyError):
    """A missing key in ``request.form``/``args``/``files``: a 400 that is also a KeyError.

    The key is named in the description only when ``show_exception`` is set (debug mode),
    so clients never learn field names the app did not advertise.
    """

    show_exception = False
    _description: str | None = BadRequest.description

    def __init__(self, arg: object = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.args = () if arg is None else (arg,)

    @property  # type: ignore[override]
    def description(self) -> str | None:
        if self.show_exception and self.args:
            return f"{self._description}\nKeyError: {self.args[0]!r}"
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    def __str__(self) -> str:
        return HTTPException.__str__(self)


class ClientDisconnected(BadRequest):
    """The client went away before sending the whole body."""


class SecurityError(BadRequest):
    """A request that tried something unsafe, such as a path outside a served directory."""


class BadHost(BadRequest):
    """The Host header is missing, malformed or not in the trusted list."""


class Unauthorized(HTTPException):
    """401: ``www_authenticate`` is one challenge string or several, sent as WWW-Authenticate."""

    code = 401
    description = (
        "The server could not verify that you are authorized to access the URL requested. You"
        " either supplied the wrong credentials (e.g. a bad password), or your browser doesn't"
        " understand how to supply the credentials required."
    )

    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        www_authenticate: str | Iterable[str] | None = None,
    ) -> None:
        super().__init__(description, response)
        if isinstance(www_authenticate, str):
            www_authenticate = (www_authenticate,)
        self.www_authenticate = list(www_authenticate or ())

    def get_headers(self, environ: WSGIEnvironment | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        headers.extend(("WWW-Authenticate", value) for value in self.www_authenticate)
        return headers


class Forbidden(HTTPException):
    code = 403
    description = (
        "You don't have the permission to access the requested resource. It is either"
        " read-protected or not readable by the server."
    )


class NotFound(HTTPException):
    code = 404
    description = (
        "The requested URL was not found on the server. If you entered the URL manually please"
        " check your spelling and try again."
    )


class MethodNotAllowed(HTTPException):
    """405: ``valid_methods`` become the Allow header the client may retry with."""

    code = 405
    description = "The method is not allowed for the requested URL."

    def __init__(
        self,
        valid_methods: Iterable[str] | None = None,
        description: str | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(description, response)
        self.valid_methods = list(valid_methods) if valid_methods is not None else None

    def get_headers(self, environ: WSGIEnvironment | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        if self.valid_methods:
            headers.append(("Allow", ", ".join(self.valid_methods)))
        return headers


class NotAcceptable(HTTPException):
    code = 406
    description = (
        "The resource identified by the request is only capable of generating response entities"
        " which have content characteristics not acceptable according to the accept headers sent"
        " in the request."
    )


class RequestTimeout(HTTPException):
    code = 408
    description = (
        "The server closed the network connection because the browser didn't finish the request"
        " within the specified time."
    )


class Conflict(HTTPException):
    code = 409
    description = (
        "A conflict happened while processing the request. The resource might have been modified"
        " while the request was being processed."
    )


class Gone(HTTPException):
    code = 410
    description = (
        "The requested URL is no longer available on this server and there is no forwarding"
        " address. If you followed a link from a foreign page, please contact the author of this"
        " page."
    )


class LengthRequired(HTTPException):
    code = 411
    description = "A request with this method requires a valid <code>Content-Length</code> header."


class PreconditionFailed(HTTPException):
    code = 412
    description = "The precondition on the request for the URL failed positive evaluation."


class RequestEntityTooLarge(HTTPException):
    code = 413
    description = "The data value transmitted exceeds the capacity limit."


class RequestURITooLarge(HTTPException):
    code = 414
    description = (
        "The length of the requested URL exceeds the capacity limit for this server. The request"
        " cannot be processed."
    )


class UnsupportedMediaType(HTTPException):
    code = 415
    description = "The server does not support the media type transmitted in the request."


class RequestedRangeNotSatisfiable(HTTPException):
    """416: with ``length``, a ``Content-Range: bytes */length`` tells the client the size."""

    code = 416
    description = "The server cannot provide the requested range."

    def __init__(
        self,
        length: int | None = None,
        units: str = "bytes",
        description: str | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(description, response)
        self.length = length
        self.units = units

    def get_headers(self, environ: WSGIEnvironment | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        if self.length is not None:
            headers.append(("Content-Range", f"{self.units} */{self.length}"))
        return headers


class ExpectationFailed(HTTPException):
    code = 417
    description = "The server could not meet the requirements of the Expect header"


class ImATeapot(HTTPException):
    code = 418
    description = "This server is a teapot, not a coffee machine"


class MisdirectedRequest(HTTPException):
    code = 421
    description = "The server is not able to produce a response for this request."


class UnprocessableEntity(HTTPException):
    code = 422
    description = (
        "The request was well-formed but was unable to be followed due to semantic errors."
    )


class Locked(HTTPException):
    code = 423
    description = "The resource that is being accessed is locked."


class FailedDependency(HTTPException):
    code = 424
    description = (
        "The method could not be performed on the resource because the requested action depended"
        " on another action and that action failed."
    )


class PreconditionRequired(HTTPException):
    code = 428
    description = (
        'This request is required to be conditional; try using "If-Match" or "If-Unmodified-Since".'
    )


class _RetryAfter(HTTPException):
    """Base for statuses that may say when to come back: seconds or a datetime."""

    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        retry_after: datetime | int | None = None,
    ) -> None:
        super().__init__(description, response)
        self.retry_after = retry_after

    def get_headers(self, environ: WSGIEnvironment | None = None) -> list[tuple[str, str]]:
        headers = super().get_headers(environ)
        if self.retry_after is not None:
            value = self.retry_after
            text = http_date(value) if isinstance(value, datetime) else str(int(value))
            headers.append(("Retry-After", text))
        return headers


class TooManyRequests(_RetryAfter):
    code = 429
    description = "This user has exceeded an allotted request count. Try again later."


class RequestHeaderFieldsTooLarge(HTTPException):
    code = 431
    description = "One or more header fields exceeds the maximum size."


class UnavailableForLegalReasons(HTTPException):
    code = 451
    description = "Unavailable for legal reasons."


class InternalServerError(HTTPException):
    """500: ``original_exception`` keeps the unhandled error for error handlers and logs."""

    code = 500
    description = (
        "The server encountered an internal error and was unable to complete your request. Either"
        " the server is overloaded or there is an error in the application."
    )

    def __init__(
        self,
        description: str | None = None,
        response: Response | None = None,
        original_exception: BaseException | None = None,
    ) -> None:
        super().__init__(description, response)
        self.original_exception = original_exception


class NotImplemented(HTTPException):  # shadows the builtin on purpose, as Werkzeug does
    code = 501
    description = "The server does not support the action requested by the browser."


class BadGateway(HTTPException):
    code = 502
    description = "The proxy server received an invalid response from an upstream server."


class ServiceUnavailable(_RetryAfter):
    code = 503
    description = (
        "The server is temporarily unable to service your request due to maintenance downtime or"
        " capacity problems. Please try again later."
    )


class GatewayTimeout(HTTPException):
    code = 504
    description = "The connection to an upstream server timed out."


class HTTPVersionNotSupported(HTTPException):
    code = 505
    description = "The server does not support the HTTP protocol version used in the request."


def _build_default_exceptions() -> dict[int, type[HTTPException]]:
    found: dict[int, type[HTTPException]] = {}
    for obj in list(globals().values()):
        if (
            isinstance(obj, type)
            and issubclass(obj, HTTPException)
            and obj.code is not None
            and not obj.__name__.startswith("_")
        ):
            found.setdefault(obj.code, obj)  # the first class per code is the plain one
    return found


default_exceptions: dict[int, type[HTTPException]] = _build_default_exceptions()


class Aborter:
    """Raise the HTTPException for a status code; ``abort`` is the default instance.

    ``extra`` adds or overrides codes, e.g. an app's own 418 subclass.
    """

    def __init__(
        self,
        mapping: Mapping[int, type[HTTPException]] | None = None,
        extra: Mapping[int, type[HTTPException]] | None = None,
    ) -> None:
        self.mapping = dict(default_exceptions if mapping is None else mapping)
        if extra is not None:
            self.mapping.update(extra)

    def __call__(self, code: int | Response, *args: Any, **kwargs: Any) -> NoReturn:
        if not isinstance(code, int):
            raise HTTPException(response=code)
        cls = self.mapping.get(code)
        if cls is None:
            raise LookupError(
                f"abort({code}) has no exception class: use one of {sorted(self.mapping)}"
                " or register your own with Aborter(extra={code: YourException})"
            )
        raise cls(*args, **kwargs)


_aborter = Aborter()


def abort(status: int | Response, *args: Any, **kwargs: Any) -> NoReturn:
    """Stop the request now: ``abort(404)``, ``abort(403, "why")`` or ``abort(response)``."""
    _aborter(status, *args, **kwargs)
