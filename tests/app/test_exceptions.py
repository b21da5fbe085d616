"""HTTPException and its subclasses: codes, pages, headers, abort()."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from treadle import exceptions as exc
from treadle.httputil import HTTP_STATUS_CODES

EXPECTED_CODES = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "RequestTimeout": 408,
    "Conflict": 409,
    "Gone": 410,
    "LengthRequired": 411,
    "PreconditionFailed": 412,
    "RequestEntityTooLarge": 413,
    "RequestURITooLarge": 414,
    "UnsupportedMediaType": 415,
    "RequestedRangeNotSatisfiable": 416,
    "ExpectationFailed": 417,
    "ImATeapot": 418,
    "MisdirectedRequest": 421,
    "UnprocessableEntity": 422,
    "Locked": 423,
    "FailedDependency": 424,
    "PreconditionRequired": 428,
    "TooManyRequests": 429,
    "RequestHeaderFieldsTooLarge": 431,
    "UnavailableForLegalReasons": 451,
    "InternalServerError": 500,
    "NotImplemented": 501,
    "BadGateway": 502,
    "ServiceUnavailable": 503,
    "GatewayTimeout": 504,
    "HTTPVersionNotSupported": 505,
}


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED_CODES.items()))
def test_each_subclass_has_its_status_code_and_reason(name: str, code: int) -> None:
    cls = getattr(exc, name)
    error = cls()
    assert error.code == code
    assert error.name == HTTP_STATUS_CODES[code]
    assert error.description


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED_CODES.items()))
def test_default_exceptions_maps_each_code_to_its_class(name: str, code: int) -> None:
    assert exc.default_exceptions[code] is getattr(exc, name)


def test_description_passed_in_replaces_the_default() -> None:
    assert exc.NotFound("no such user").description == "no such user"


def test_body_is_html_with_escaped_description() -> None:
    body = exc.BadRequest("<script>\nx").get_body()
    assert "<title>400 Bad Request</title>" in body
    assert "<h1>Bad Request</h1>" in body
    assert "&lt;script&gt;<br>x" in body


def test_default_headers_are_html_utf8() -> None:
    assert exc.NotFound().get_headers() == [("Content-Type", "text/html; charset=utf-8")]


def test_str_names_code_reason_and_description() -> None:
    assert str(exc.Forbidden("nope")) == "403 Forbidden: nope"


def test_repr_names_the_class() -> None:
    assert repr(exc.NotFound()) == "<NotFound '404: Not Found'>"


def test_method_not_allowed_sends_allow_header() -> None:
    headers = exc.MethodNotAllowed(["GET", "HEAD"]).get_headers()
    assert ("Allow", "GET, HEAD") in headers


def test_method_not_allowed_without_methods_sends_no_allow() -> None:
    assert all(name != "Allow" for name, _ in exc.MethodNotAllowed().get_headers())


def test_unauthorized_sends_each_challenge() -> None:
    headers = exc.Unauthorized(www_authenticate=['Basic realm="a"', "Bearer"]).get_headers()
    assert [v for k, v in headers if k == "WWW-Authenticate"] == ['Basic realm="a"', "Bearer"]


def test_unauthorized_accepts_a_single_challenge_string() -> None:
    headers = exc.Unauthorized(www_authenticate='Basic realm="a"').get_headers()
    assert ("WWW-Authenticate", 'Basic realm="a"') in headers


def test_range_not_satisfiable_sends_content_range_with_length() -> None:
    headers = exc.RequestedRangeNotSatisfiable(length=1000).get_headers()
    assert ("Content-Range", "bytes */1000") in headers


def test_too_many_requests_sends_retry_after_seconds() -> None:
    assert ("Retry-After", "30") in exc.TooManyRequests(retry_after=30).get_headers()


def test_service_unavailable_sends_retry_after_date() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    headers = exc.ServiceUnavailable(retry_after=when).get_headers()
    assert ("Retry-After", "Wed, 02 Jan 2030 03:04:05 GMT") in headers


def test_internal_server_error_keeps_original_exception() -> None:
    original = ValueError("boom")
    assert exc.InternalServerError(original_exception=original).original_exception is original


def test_bad_request_key_error_is_a_key_error_and_a_400() -> None:
    error = exc.BadRequestKeyError("name")
    assert isinstance(error, KeyError)
    assert error.code == 400
    assert error.args == ("name",)


def test_bad_request_key_error_hides_the_key_unless_show_exception() -> None:
    error = exc.BadRequestKeyError("secret_field")
    assert "secret_field" not in (error.description or "")
    error.show_exception = True
    assert "secret_field" in (error.description or "")


def test_abort_raises_the_class_for_the_code() -> None:
    with pytest.raises(exc.NotFound):
        exc.abort(404)


def test_abort_passes_description_through() -> None:
    with pytest.raises(exc.Forbidden) as info:
        exc.abort(403, "members only")
    assert info.value.description == "members only"


def test_abort_passes_keyword_arguments_through() -> None:
    with pytest.raises(exc.MethodNotAllowed) as info:
        exc.abort(405, valid_methods=["POST"])
    assert info.value.valid_methods == ["POST"]


def test_abort_with_unknown_code_raises_lookup_error_naming_the_fix() -> None:
    with pytest.raises(LookupError, match="Aborter"):
        exc.abort(299)


def test_aborter_extra_adds_a_code() -> None:
    class Custom(exc.HTTPException):
        code = 299

    with pytest.raises(Custom):
        exc.Aborter(extra={299: Custom})(299)


def test_abort_with_a_response_object_wraps_it() -> None:
    sentinel = object()
    with pytest.raises(exc.HTTPException) as info:
        exc.abort(sentinel)  # type: ignore[arg-type]
    assert info.value.response is sentinel


def test_get_response_is_an_html_response_with_the_status() -> None:
    response = exc.NotFound().get_response()
    assert response.status_code == 404
    assert response.status == "404 NOT FOUND"
    assert response.content_type == "text/html; charset=utf-8"
    assert b"<h1>Not Found</h1>" in response.get_data()


def test_get_response_carries_extra_headers() -> None:
    response = exc.MethodNotAllowed(["GET"]).get_response()
    assert response.headers["Allow"] == "GET"


def test_get_response_returns_the_given_response() -> None:
    from treadle.wrappers import Response

    custom = Response("custom", 418)
    assert exc.HTTPException(response=custom).get_response() is custom


def test_exception_is_a_wsgi_app() -> None:
    seen: list[str] = []
    body = exc.Forbidden()({"REQUEST_METHOD": "GET"}, lambda status, headers: seen.append(status))
    assert seen == ["403 FORBIDDEN"]
    assert b"Forbidden" in b"".join(body)


def test_retry_after_reaches_the_response() -> None:
    response = exc.ServiceUnavailable(retry_after=120).get_response()
    assert response.headers["Retry-After"] == "120"
