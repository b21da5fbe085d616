"""Request attributes from a hand-made environ, and Response behaviour over WSGI."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from treadle import Treadle
from treadle.datastructures import CombinedMultiDict, EnvironHeaders, ImmutableMultiDict
from treadle.exceptions import (
    BadHost,
    BadRequest,
    BadRequestKeyError,
    ClientDisconnected,
    RequestedRangeNotSatisfiable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)
from treadle.globals import request as current_request
from treadle.httputil import generate_etag
from treadle.wrappers import Request, Response

EnvironFactory = Callable[..., dict[str, Any]]


class StartResponse:
    """Records what an app passes to start_response."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, headers
        return lambda data: None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def run(response: Response, environ: dict[str, Any]) -> tuple[StartResponse, bytes]:
    start = StartResponse()
    body = response(environ, start)
    try:
        return start, b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


# --- Request: the request line -------------------------------------------------------------


def test_request_method_is_upper_case(make_environ: EnvironFactory) -> None:
    assert Request(make_environ(method="post")).method == "POST"


def test_request_path_and_query(make_environ: EnvironFactory) -> None:
    request = Request(make_environ("/a/b", query="x=1&x=2&y="))
    assert request.path == "/a/b"
    assert request.args.getlist("x") == ["1", "2"]
    assert request.args["y"] == ""
    assert request.query_string == b"x=1&x=2&y="


def test_request_args_are_immutable(make_environ: EnvironFactory) -> None:
    assert isinstance(Request(make_environ()).args, ImmutableMultiDict)


def test_request_missing_arg_is_bad_request_key_error(make_environ: EnvironFactory) -> None:
    with pytest.raises(BadRequestKeyError):
        Request(make_environ()).args["missing"]


def test_request_path_recovers_utf8_from_wsgi_latin1(make_environ: EnvironFactory) -> None:
    raw = "/caf\u00e9".encode().decode("latin-1")
    assert Request(make_environ(raw)).path == "/caf\u00e9"


def test_request_args_decode_percent_utf8(make_environ: EnvironFactory) -> None:
    assert Request(make_environ(query="q=%C3%A9t%C3%A9")).args["q"] == "\u00e9t\u00e9"


def test_request_path_always_starts_with_slash(make_environ: EnvironFactory) -> None:
    assert Request(make_environ("")).path == "/"


def test_request_full_path(make_environ: EnvironFactory) -> None:
    assert Request(make_environ("/p", query="a=1")).full_path == "/p?a=1"


def test_request_urls(make_environ: EnvironFactory) -> None:
    environ = make_environ("/page", query="a=1", SCRIPT_NAME="/app")
    environ["HTTP_HOST"] = "example.com:8080"
    request = Request(environ)
    assert request.script_root == "/app"
    assert request.url == "http://example.com:8080/app/page?a=1"
    assert request.base_url == "http://example.com:8080/app/page"
    assert request.url_root == "http://example.com:8080/app/"
    assert request.host_url == "http://example.com:8080/"


def test_request_url_quotes_unsafe_path_characters(make_environ: EnvironFactory) -> None:
    assert Request(make_environ("/a b")).url == "http://localhost/a%20b"


def test_request_host_drops_default_port(make_environ: EnvironFactory) -> None:
    environ = make_environ()
    environ["HTTP_HOST"] = "example.com:80"
    assert Request(environ).host == "example.com"


def test_request_host_falls_back_to_server_name(make_environ: EnvironFactory) -> None:
    environ = make_environ(SERVER_NAME="srv", SERVER_PORT="8000")
    del environ["HTTP_HOST"]
    assert Request(environ).host == "srv:8000"


def test_request_trusted_hosts_accepts_listed_host(make_environ: EnvironFactory) -> None:
    request = Request(make_environ())
    request.trusted_hosts = ["localhost"]
    assert request.host == "localhost"


def test_request_trusted_hosts_allows_subdomains_with_leading_dot(
    make_environ: EnvironFactory,
) -> None:
    environ = make_environ()
    environ["HTTP_HOST"] = "api.example.com:8443"
    request = Request(environ)
    request.trusted_hosts = [".example.com"]
    assert request.host == "api.example.com:8443"


def test_request_untrusted_host_is_400(make_environ: EnvironFactory) -> None:
    environ = make_environ()
    environ["HTTP_HOST"] = "evil.test"
    request = Request(environ)
    request.trusted_hosts = ["example.com"]
    with pytest.raises(BadHost):
        _ = request.host


def test_request_malformed_host_is_400(make_environ: EnvironFactory) -> None:
    environ = make_environ()
    environ["HTTP_HOST"] = "a/b"
    with pytest.raises(BadRequest):
        _ = Request(environ).host


def test_request_scheme_and_is_secure(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(**{"wsgi.url_scheme": "https"}))
    assert request.scheme == "https" and request.is_secure


def test_request_remote_addr(make_environ: EnvironFactory) -> None:
    assert Request(make_environ()).remote_addr == "127.0.0.1"


def test_request_access_route_from_forwarded_for(make_environ: EnvironFactory) -> None:
    environ = make_environ(headers={"X-Forwarded-For": "1.1.1.1, 2.2.2.2"})
    assert Request(environ).access_route == ["1.1.1.1", "2.2.2.2"]


def test_request_is_stored_in_environ(make_environ: EnvironFactory) -> None:
    environ = make_environ()
    request = Request(environ)
    assert environ["treadle.request"] is request


def test_request_attributes_are_computed_once(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(query="a=1"))
    assert request.args is request.args


# --- Request: headers ----------------------------------------------------------------------


def test_request_headers_read_the_environ(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(headers={"X-Token": "t"}))
    assert isinstance(request.headers, EnvironHeaders)
    assert request.headers["x-token"] == "t"


def test_request_cookies(make_environ: EnvironFactory) -> None:
    cookies = Request(make_environ(headers={"Cookie": "a=1; b=2"})).cookies
    assert cookies.to_dict() == {"a": "1", "b": "2"}


def test_request_content_type_mimetype_and_params(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(content_type="Text/Plain; charset=latin-1"))
    assert request.content_type == "Text/Plain; charset=latin-1"
    assert request.mimetype == "text/plain"
    assert request.mimetype_params == {"charset": "latin-1"}


def test_request_without_content_type(make_environ: EnvironFactory) -> None:
    request = Request(make_environ())
    assert request.content_type is None and request.mimetype == ""


def test_request_content_length(make_environ: EnvironFactory) -> None:
    assert Request(make_environ(body=b"abc", content_type="x/y")).content_length == 3
    assert Request(make_environ()).content_length is None


def test_request_invalid_content_length_is_none(make_environ: EnvironFactory) -> None:
    assert Request(make_environ(CONTENT_LENGTH="-5")).content_length is None


def test_request_accept_mimetypes(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(headers={"Accept": "application/json, text/html;q=0.5"}))
    assert request.accept_mimetypes.best == "application/json"
    assert request.accept_mimetypes.accept_json


def test_request_accept_languages_charsets_encodings(make_environ: EnvironFactory) -> None:
    request = Request(
        make_environ(
            headers={
                "Accept-Language": "fr-CH, fr;q=0.9",
                "Accept-Charset": "utf-8",
                "Accept-Encoding": "gzip, br;q=0.5",
            }
        )
    )
    assert request.accept_languages.best == "fr-CH"
    assert "utf-8" in request.accept_charsets  # type: ignore[comparison-overlap]
    assert request.accept_encodings["br"] == 0.5


def test_request_user_agent_is_a_string_with_string_attribute(
    make_environ: EnvironFactory,
) -> None:
    agent = Request(make_environ(headers={"User-Agent": "curl/8"})).user_agent
    assert agent == "curl/8" and agent.string == "curl/8"


def test_request_basic_authorization(make_environ: EnvironFactory) -> None:
    auth = Request(make_environ(headers={"Authorization": "Basic YTpi"})).authorization
    assert auth is not None and (auth.username, auth.password) == ("a", "b")


def test_request_conditional_headers(make_environ: EnvironFactory) -> None:
    request = Request(
        make_environ(
            headers={
                "If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT",
                "If-None-Match": '"abc"',
                "Range": "bytes=0-9",
            }
        )
    )
    assert request.if_modified_since == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    assert "abc" in request.if_none_match
    assert request.range is not None and request.range.ranges == [(0, 10)]


def test_request_referrer(make_environ: EnvironFactory) -> None:
    assert Request(make_environ(headers={"Referer": "http://a/"})).referrer == "http://a/"


# --- Request: routing extras ---------------------------------------------------------------


class FakeRule:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint


def test_request_endpoint_and_blueprints_from_url_rule(make_environ: EnvironFactory) -> None:
    request = Request(make_environ())
    request.url_rule = FakeRule("admin.users.list")
    assert request.endpoint == "admin.users.list"
    assert request.blueprint == "admin.users"
    assert request.blueprints == ["admin.users", "admin"]


def test_request_without_rule_has_no_endpoint(make_environ: EnvironFactory) -> None:
    request = Request(make_environ())
    assert (request.endpoint, request.blueprint, request.blueprints) == (None, None, [])
    assert request.view_args is None and request.routing_exception is None


def test_request_endpoint_without_blueprint(make_environ: EnvironFactory) -> None:
    request = Request(make_environ())
    request.url_rule = FakeRule("index")
    assert request.blueprint is None and request.blueprints == []


# --- Request: body -------------------------------------------------------------------------


def test_request_data_reads_the_body(make_environ: EnvironFactory) -> None:
    assert Request(make_environ(body=b"raw", content_type="text/plain")).data == b"raw"


def test_request_get_data_as_text(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(body="h\u00e9".encode(), content_type="text/plain"))
    assert request.get_data(as_text=True) == "h\u00e9"


def test_request_get_data_is_cached(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(body=b"once", content_type="text/plain"))
    assert request.get_data() == request.get_data() == b"once"


def test_request_never_reads_past_content_length(make_environ: EnvironFactory) -> None:
    environ = make_environ(body=b"abcdef", content_type="text/plain")
    environ["CONTENT_LENGTH"] = "3"
    request = Request(environ)
    assert request.get_data() == b"abc"
    assert environ["wsgi.input"].read() == b"def"


def test_request_without_length_reads_nothing(make_environ: EnvironFactory) -> None:
    environ = make_environ()
    environ["wsgi.input"] = io.BytesIO(b"unbounded")
    assert Request(environ).get_data() == b""


def test_request_terminated_input_is_read_to_the_end(make_environ: EnvironFactory) -> None:
    environ = make_environ(**{"wsgi.input_terminated": True})
    environ["wsgi.input"] = io.BytesIO(b"chunked body")
    assert Request(environ).get_data() == b"chunked body"


def test_request_terminated_input_over_max_is_413(make_environ: EnvironFactory) -> None:
    environ = make_environ(**{"wsgi.input_terminated": True})
    environ["wsgi.input"] = io.BytesIO(b"x" * 11)
    request = Request(environ)
    request.max_content_length = 10
    with pytest.raises(RequestEntityTooLarge):
        request.get_data()


def test_request_content_length_over_max_is_413(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(body=b"x" * 11, content_type="text/plain"))
    request.max_content_length = 10
    with pytest.raises(RequestEntityTooLarge):
        request.get_data()


def test_request_truncated_body_is_client_disconnected(make_environ: EnvironFactory) -> None:
    environ = make_environ(body=b"abc", content_type="text/plain")
    environ["CONTENT_LENGTH"] = "10"
    with pytest.raises(ClientDisconnected):
        Request(environ).get_data()


def test_request_stream_is_limited(make_environ: EnvironFactory) -> None:
    environ = make_environ(body=b"12345", content_type="text/plain")
    environ["CONTENT_LENGTH"] = "2"
    assert Request(environ).stream.read() == b"12"


def test_request_shallow_refuses_to_read(make_environ: EnvironFactory) -> None:
    with pytest.raises(RuntimeError, match="shallow"):
        _ = Request(make_environ(body=b"x", content_type="text/plain"), shallow=True).stream


def test_request_form_urlencoded(make_environ: EnvironFactory) -> None:
    request = Request(
        make_environ(
            method="POST",
            body=b"a=1&a=2&b=%C3%A9",
            content_type="application/x-www-form-urlencoded",
        )
    )
    assert request.form.getlist("a") == ["1", "2"]
    assert request.form["b"] == "\u00e9"


def test_request_data_is_empty_after_form_parsing(make_environ: EnvironFactory) -> None:
    request = Request(
        make_environ(method="POST", body=b"a=1", content_type="application/x-www-form-urlencoded")
    )
    assert request.data == b""
    assert request.form["a"] == "1"


def test_request_form_parses_cached_data(make_environ: EnvironFactory) -> None:
    request = Request(
        make_environ(method="POST", body=b"a=1", content_type="application/x-www-form-urlencoded")
    )
    assert request.get_data() == b"a=1"
    assert request.form["a"] == "1"


def test_request_form_of_non_form_body_is_empty(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(method="POST", body=b"{}", content_type="application/json"))
    assert not request.form and not request.files
    assert request.data == b"{}"


def test_request_values_for_get_is_only_args(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(query="a=1"))
    assert isinstance(request.values, CombinedMultiDict)
    assert request.values.to_dict() == {"a": "1"}


def test_request_values_for_post_combines_args_and_form(make_environ: EnvironFactory) -> None:
    request = Request(
        make_environ(
            method="POST",
            query="a=1",
            body=b"a=2&b=3",
            content_type="application/x-www-form-urlencoded",
        )
    )
    assert request.values.getlist("a") == ["1", "2"]
    assert request.values["b"] == "3"


def test_request_json(make_environ: EnvironFactory) -> None:
    request = Request(
        make_environ(method="POST", body=b'{"a": [1, 2]}', content_type="application/json")
    )
    assert request.is_json
    assert request.json == {"a": [1, 2]}


def test_request_json_accepts_plus_json_types(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(body=b"1", content_type="application/problem+json"))
    assert request.is_json and request.get_json() == 1


def test_request_invalid_json_is_400_without_the_parser_message(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(body=b"{nope", content_type="application/json"))
    with pytest.raises(BadRequest) as caught:
        request.get_json()
    assert caught.value.description == BadRequest.description
    assert isinstance(caught.value.__cause__, ValueError)


def test_request_invalid_json_names_the_parser_error_in_debug(make_environ: EnvironFactory) -> None:
    app = Treadle(__name__)
    app.debug = True
    request = Request(make_environ(body=b"{nope", content_type="application/json"))
    with app.app_context(), pytest.raises(BadRequest, match="Failed to decode JSON object: Expecting"):
        request.get_json()


def test_invalid_json_response_outside_debug_leaks_nothing() -> None:
    app = Treadle(__name__)

    @app.post("/")
    def echo() -> Any:
        return current_request.get_json()

    response = app.test_client().post("/", data=b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert b"Expecting" not in response.data and b"nope" not in response.data


def test_request_deeply_nested_json_is_400_not_a_crash(make_environ: EnvironFactory) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    request = Request(make_environ(body=body, content_type="application/json"))
    with pytest.raises(BadRequest):
        request.get_json()


def test_request_json_with_wrong_content_type_is_415(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(body=b"{}", content_type="text/plain"))
    with pytest.raises(UnsupportedMediaType):
        request.get_json()


def test_request_get_json_force_ignores_content_type(make_environ: EnvironFactory) -> None:
    request = Request(make_environ(body=b'{"a": 1}', content_type="text/plain"))
    assert request.get_json(force=True) == {"a": 1}


def test_request_get_json_silent_returns_none(make_environ: EnvironFactory) -> None:
    assert (
        Request(make_environ(body=b"{", content_type="application/json")).get_json(silent=True)
        is None
    )
    assert (
        Request(make_environ(body=b"{}", content_type="text/plain")).get_json(silent=True) is None
    )


def test_request_on_json_loading_failed_can_be_overridden(make_environ: EnvironFactory) -> None:
    class Lenient(Request):
        def on_json_loading_failed(self, error: Exception | None) -> Any:
            return {"fallback": True}

    request = Lenient(make_environ(body=b"{", content_type="application/json"))
    assert request.get_json() == {"fallback": True}


def test_request_close_closes_uploaded_files(make_environ: EnvironFactory) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n'
        b"data\r\n--b--\r\n"
    )
    request = Request(
        make_environ(method="POST", body=body, content_type="multipart/form-data; boundary=b")
    )
    upload = request.files["f"]
    with request:
        pass
    assert upload.stream.closed


# --- Response ------------------------------------------------------------------------------


def test_response_defaults() -> None:
    response = Response()
    assert response.status == "200 OK" and response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert response.mimetype == "text/html"


def test_response_str_body_is_utf8_with_length() -> None:
    response = Response("h\u00e9")
    assert response.data == "h\u00e9".encode()
    assert response.content_length == 3


def test_response_status_from_int_uses_upper_reason() -> None:
    assert Response(status=404).status == "404 NOT FOUND"


def test_response_status_from_string() -> None:
    response = Response(status="299 Custom Thing")
    assert response.status_code == 299 and response.status == "299 Custom Thing"


def test_response_status_code_only_string_gets_reason() -> None:
    assert Response(status="404").status == "404 NOT FOUND"


def test_response_unknown_status_code() -> None:
    assert Response(status=299).status == "299 UNKNOWN"


def test_response_invalid_status_names_the_fix() -> None:
    with pytest.raises(ValueError, match="number"):
        Response(status="OK")


def test_response_setting_status_code_updates_status() -> None:
    response = Response()
    response.status_code = 201
    assert response.status == "201 CREATED"


def test_response_mimetype_argument_adds_charset_for_text() -> None:
    assert Response(mimetype="text/plain").content_type == "text/plain; charset=utf-8"
    assert Response(mimetype="application/json").content_type == "application/json"


def test_response_content_type_argument_is_used_verbatim() -> None:
    assert Response(content_type="text/csv").content_type == "text/csv"


def test_response_headers_argument_keeps_its_content_type() -> None:
    response = Response(headers={"Content-Type": "image/png"})
    assert response.content_type == "image/png"


def test_response_set_data_updates_length() -> None:
    response = Response("a")
    response.set_data(b"abcd")
    assert response.content_length == 4 and response.get_data() == b"abcd"


def test_response_get_data_as_text() -> None:
    assert Response("x").get_data(as_text=True) == "x"


def test_response_wsgi_call_returns_one_element_list(make_environ: EnvironFactory) -> None:
    start = StartResponse()
    body = Response("hello")(make_environ(), start)
    assert body == [b"hello"]
    assert start.status == "200 OK"
    assert ("Content-Length", "5") in start.headers


def test_response_head_has_headers_but_no_body(make_environ: EnvironFactory) -> None:
    start, body = run(Response("hello"), make_environ(method="HEAD"))
    assert body == b""
    assert start.header("Content-Length") == "5"


def test_response_streams_a_generator(make_environ: EnvironFactory) -> None:
    def generate() -> Iterator[str]:
        yield "a"
        yield "b"

    response = Response(generate())
    assert response.is_streamed
    start, body = run(response, make_environ())
    assert body == b"ab"
    assert start.header("Content-Length") is None


def test_response_list_of_chunks_gets_content_length(make_environ: EnvironFactory) -> None:
    start, body = run(Response([b"ab", "c"]), make_environ())
    assert body == b"abc" and start.header("Content-Length") == "3"


def test_response_204_and_304_send_no_body_or_length(make_environ: EnvironFactory) -> None:
    for code in (204, 304):
        start, body = run(Response("x", status=code), make_environ())
        assert body == b""
        assert start.header("Content-Length") is None


def test_response_close_runs_callbacks_after_streaming(make_environ: EnvironFactory) -> None:
    closed: list[str] = []
    response = Response("x")
    response.call_on_close(lambda: closed.append("done"))
    run(response, make_environ())
    assert closed == ["done"]


def test_response_closes_the_iterable_it_wraps(make_environ: EnvironFactory) -> None:
    class Body:
        closed = False

        def __iter__(self) -> Iterator[bytes]:
            yield b"x"

        def close(self) -> None:
            Body.closed = True

    run(Response(Body()), make_environ())
    assert Body.closed


def test_response_get_data_reads_a_stream_once() -> None:
    response = Response(iter([b"a", b"b"]))
    assert response.get_data() == b"ab"
    assert response.get_data() == b"ab"


def test_response_freeze_buffers_and_sets_length() -> None:
    response = Response(iter([b"a", b"bc"]))
    response.freeze()
    assert response.is_sequence and response.content_length == 3


def test_response_direct_passthrough_body_is_unreadable() -> None:
    with pytest.raises(RuntimeError, match="direct_passthrough"):
        Response(iter([b"x"]), direct_passthrough=True).get_data()


def test_response_iter_encoded_encodes_str_chunks() -> None:
    assert list(Response(["a", b"b"]).iter_encoded()) == [b"a", b"b"]


def test_response_location_is_made_uri_safe(make_environ: EnvironFactory) -> None:
    response = Response(status=302)
    response.location = "/caf\u00e9"
    start, _ = run(response, make_environ())
    assert start.header("Location") == "/caf%C3%A9"


def test_response_autocorrect_location_makes_it_absolute(make_environ: EnvironFactory) -> None:
    class Absolute(Response):
        autocorrect_location_header = True

    response = Absolute(status=302, headers={"Location": "next"})
    start, _ = run(response, make_environ("/a/b"))
    assert start.header("Location") == "http://localhost/a/next"


def test_response_set_cookie_adds_header() -> None:
    response = Response()
    response.set_cookie("sid", "abc", httponly=True, samesite="Strict")
    assert response.headers.getlist("Set-Cookie") == ["sid=abc; HttpOnly; Path=/; SameSite=Strict"]


def test_response_delete_cookie_expires_it() -> None:
    response = Response()
    response.delete_cookie("sid")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0")


def test_response_cache_control_writes_header() -> None:
    response = Response()
    response.cache_control.public = True
    response.cache_control.max_age = 300
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_response_vary_add_writes_header() -> None:
    response = Response()
    response.vary.add("Cookie")
    response.vary.add("Accept")
    assert response.headers["Vary"] == "Cookie, Accept"


def test_response_last_modified_and_expires() -> None:
    response = Response()
    moment = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    response.last_modified = moment
    response.expires = moment
    assert response.headers["Last-Modified"] == "Thu, 02 Jan 2020 03:04:05 GMT"
    assert response.last_modified == moment and response.expires == moment
    response.last_modified = None
    assert "Last-Modified" not in response.headers


def test_response_etags() -> None:
    response = Response("body")
    response.add_etag()
    assert response.get_etag() == (generate_etag(b"body"), False)
    response.set_etag("custom", weak=True)
    assert response.headers["ETag"] == 'W/"custom"'


def test_response_json() -> None:
    response = Response(json.dumps({"a": 1}), mimetype="application/json")
    assert response.is_json and response.json == {"a": 1}
    assert Response("x").get_json() is None


def test_make_conditional_304_on_matching_etag(make_environ: EnvironFactory) -> None:
    response = Response("body")
    response.set_etag("v1")
    environ = make_environ(headers={"If-None-Match": '"v1"'})
    response.make_conditional(environ)
    start, body = run(response, environ)
    assert start.status == "304 NOT MODIFIED" and body == b""
    assert start.header("ETag") == '"v1"'


def test_make_conditional_304_on_if_modified_since(make_environ: EnvironFactory) -> None:
    response = Response("body")
    response.last_modified = datetime(2020, 1, 1, tzinfo=UTC)
    environ = make_environ(headers={"If-Modified-Since": "Wed, 01 Jan 2020 00:00:00 GMT"})
    assert response.make_conditional(environ).status_code == 304


def test_make_conditional_ignores_post(make_environ: EnvironFactory) -> None:
    response = Response("body")
    response.set_etag("v1")
    environ = make_environ(method="POST", headers={"If-None-Match": '"v1"'})
    assert response.make_conditional(environ).status_code == 200


def test_make_conditional_206_for_a_single_range(make_environ: EnvironFactory) -> None:
    response = Response(b"0123456789")
    environ = make_environ(headers={"Range": "bytes=2-4"})
    response.make_conditional(environ, accept_ranges=True)
    start, body = run(response, environ)
    assert start.status == "206 PARTIAL CONTENT" and body == b"234"
    assert start.header("Content-Range") == "bytes 2-4/10"
    assert start.header("Content-Length") == "3"
    assert start.header("Accept-Ranges") == "bytes"


def test_make_conditional_range_over_a_stream(make_environ: EnvironFactory) -> None:
    response = Response(iter([b"0123", b"4567", b"89"]))
    environ = make_environ(headers={"Range": "bytes=3-6"})
    response.make_conditional(environ, accept_ranges=True, complete_length=10)
    _, body = run(response, environ)
    assert body == b"3456"


def test_make_conditional_416_when_unsatisfiable(make_environ: EnvironFactory) -> None:
    response = Response(b"0123456789")
    environ = make_environ(headers={"Range": "bytes=50-60"})
    with pytest.raises(RequestedRangeNotSatisfiable) as info:
        response.make_conditional(environ, accept_ranges=True)
    assert ("Content-Range", "bytes */10") in info.value.get_headers()


def test_make_conditional_several_ranges_answer_whole(make_environ: EnvironFactory) -> None:
    response = Response(b"0123456789")
    environ = make_environ(headers={"Range": "bytes=0-1,5-6"})
    assert response.make_conditional(environ, accept_ranges=True).status_code == 200


def test_make_conditional_if_range_mismatch_sends_whole(make_environ: EnvironFactory) -> None:
    response = Response(b"0123456789")
    response.set_etag("new")
    environ = make_environ(headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert response.make_conditional(environ, accept_ranges=True).status_code == 200


def test_make_conditional_without_accept_ranges_ignores_range(
    make_environ: EnvironFactory,
) -> None:
    response = Response(b"0123456789")
    environ = make_environ(headers={"Range": "bytes=0-1"})
    assert response.make_conditional(environ).status_code == 200


def test_force_type_converts_a_wsgi_app(make_environ: EnvironFactory) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("201 CREATED", [("Content-Type", "text/plain")])
        return [b"made"]

    response = Response.force_type(app, make_environ())
    assert response.status_code == 201 and response.get_data() == b"made"
    assert response.content_type == "text/plain"


def test_force_type_without_environ_names_the_fix() -> None:
    with pytest.raises(TypeError, match="environ"):
        Response.force_type(lambda e, s: [])


def test_force_type_changes_the_class_of_a_response() -> None:
    class Mine(Response):
        pass

    assert type(Mine.force_type(Response("x"))) is Mine


def test_from_app_collects_write_calls(make_environ: EnvironFactory) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        write = start_response("200 OK", [])
        write(b"written ")
        return [b"returned"]

    response = Response.from_app(app, make_environ())
    assert response.get_data() == b"written returned"


def test_response_repr() -> None:
    assert repr(Response("abc")) == "<Response 3 bytes [200 OK]>"
    assert repr(Response(iter([]))) == "<Response streamed [200 OK]>"


def test_request_repr_names_url_and_method(make_environ: EnvironFactory) -> None:
    assert repr(Request(make_environ("/x"))) == "<Request 'http://localhost/x' [GET]>"


def test_request_repr_survives_a_bad_host(make_environ: EnvironFactory) -> None:
    environ = make_environ()
    environ["HTTP_HOST"] = "bad host"
    assert "invalid URL" in repr(Request(environ))


@pytest.mark.parametrize(
    "arguments", [{"content_type": "text/plain\r\nX-Evil: 1"}, {"mimetype": "text/plain\nX-Evil: 1"}]
)
def test_response_content_type_with_a_newline_is_refused(arguments: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="newline"):
        Response("body", **arguments)  # type: ignore[arg-type]


def test_response_common_mimetype_gets_its_charset() -> None:
    assert Response("x", mimetype="application/json").headers["Content-Type"] == "application/json"
    assert Response("x").headers["Content-Type"] == "text/html; charset=utf-8"
    assert Response("x", mimetype="text/csv").headers["Content-Type"] == "text/csv; charset=utf-8"
