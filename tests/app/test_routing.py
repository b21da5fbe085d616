"""Routing: converters, precedence, slashes, errors, redirects, URL building, binding."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from treadle.datastructures import MultiDict
from treadle.exceptions import BadRequest, MethodNotAllowed, NotFound
from treadle.routing import (
    BaseConverter,
    BuildError,
    Map,
    MapAdapter,
    RequestRedirect,
    Rule,
    ValidationError,
    WebsocketMismatch,
    parse_converter_args,
)


def adapter(*rules: Rule, script_name: str = "/", **map_options: Any) -> MapAdapter:
    return Map(list(rules), **map_options).bind("example.com", script_name)


def match(rule: str, path: str, **map_options: Any) -> dict[str, Any]:
    """The view arguments of ``rule`` for ``path``."""
    endpoint, values = adapter(Rule(rule, endpoint="e"), **map_options).match(path)
    assert endpoint == "e"
    return values


def redirect_target(urls: MapAdapter, path: str, **kwargs: Any) -> str:
    with pytest.raises(RequestRedirect) as caught:
        urls.match(path, **kwargs)
    return caught.value.new_url


def environ(path: str = "/", **extra: str) -> dict[str, Any]:
    env = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "example.com",
        "wsgi.url_scheme": "http",
    }
    env.update(extra)
    return env


# -- converters ---------------------------------------------------------------------------


def test_default_converter_matches_one_segment() -> None:
    assert match("/u/<name>", "/u/amy") == {"name": "amy"}
    with pytest.raises(NotFound):
        match("/u/<name>", "/u/amy/x")


def test_string_converter_length() -> None:
    assert match("/<string(length=2):cc>", "/de") == {"cc": "de"}
    with pytest.raises(NotFound):
        match("/<string(length=2):cc>", "/deu")


def test_string_converter_min_and_max_length() -> None:
    rule = "/<string(minlength=2, maxlength=3):s>"
    assert match(rule, "/abc") == {"s": "abc"}
    for path in ("/a", "/abcd"):
        with pytest.raises(NotFound):
            match(rule, path)


def test_int_converter_gives_int() -> None:
    assert match("/<int:n>", "/42") == {"n": 42}


def test_int_converter_rejects_negative_unless_signed() -> None:
    with pytest.raises(NotFound):
        match("/<int:n>", "/-3")
    assert match("/<int(signed=True):n>", "/-3") == {"n": -3}


def test_int_converter_fixed_digits() -> None:
    assert match("/<int(fixed_digits=4):y>", "/0042") == {"y": 42}
    with pytest.raises(NotFound):
        match("/<int(fixed_digits=4):y>", "/42")


def test_int_converter_min_and_max() -> None:
    rule = "/<int(min=1, max=10):n>"
    assert match(rule, "/10") == {"n": 10}
    for path in ("/0", "/11"):
        with pytest.raises(NotFound):
            match(rule, path)


def test_float_converter_needs_a_dot() -> None:
    assert match("/<float:x>", "/1.5") == {"x": 1.5}
    with pytest.raises(NotFound):
        match("/<float:x>", "/1")


def test_float_converter_signed_and_bounds() -> None:
    assert match("/<float(signed=True):x>", "/-1.5") == {"x": -1.5}
    with pytest.raises(NotFound):
        match("/<float(max=1.0):x>", "/1.5")


def test_path_converter_matches_slashes() -> None:
    assert match("/f/<path:p>", "/f/a/b/c.txt") == {"p": "a/b/c.txt"}


def test_path_converter_followed_by_static_part() -> None:
    assert match("/f/<path:p>/edit", "/f/a/b/edit") == {"p": "a/b"}


def test_uuid_converter_gives_uuid() -> None:
    value = uuid.uuid4()
    assert match("/<uuid:i>", f"/{value}") == {"i": value}
    with pytest.raises(NotFound):
        match("/<uuid:i>", "/not-a-uuid")


def test_any_converter_matches_only_its_items() -> None:
    rule = "/<any(about, help, 'a,b'):page>"
    assert match(rule, "/help") == {"page": "help"}
    assert match(rule, "/a,b") == {"page": "a,b"}
    with pytest.raises(NotFound):
        match(rule, "/other")


def test_any_converter_refuses_to_build_other_values() -> None:
    urls = adapter(Rule("/<any(a, b):x>", endpoint="e"))
    with pytest.raises(ValueError, match="not one of"):
        urls.build("e", {"x": "c"})


def test_converter_arguments_are_parsed_like_python_literals() -> None:
    args, kwargs = parse_converter_args("1, 2.5, 'x', \"y\", bare, True, None, key=False")
    assert args == (1, 2.5, "x", "y", "bare", True, None)
    assert kwargs == {"key": False}


def test_bad_converter_arguments_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="converter argument"):
        Map([Rule("/<int(min=[1]):n>", endpoint="e")])


def test_unknown_converter_is_named_in_error() -> None:
    with pytest.raises(LookupError, match="'nope'"):
        Map([Rule("/<nope:x>", endpoint="e")])


def test_malformed_rule_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="malformed"):
        Map([Rule("/<unclosed", endpoint="e")])


def test_rule_must_start_with_slash() -> None:
    with pytest.raises(ValueError, match="must start with a slash"):
        Rule("no-slash")


def test_variable_used_twice_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        Map([Rule("/<a>/<a>", endpoint="e")])


class ListConverter(BaseConverter):
    """Comma-separated values."""

    def to_python(self, value: str) -> list[str]:
        return value.split(",")

    def to_url(self, value: Any) -> str:
        return ",".join(super(ListConverter, self).to_url(item) for item in value)


def test_custom_converter_registered_on_map() -> None:
    url_map = Map([])
    url_map.converters["list"] = ListConverter
    url_map.add(Rule("/l/<list:items>", endpoint="e"))
    urls = url_map.bind("example.com")
    assert urls.match("/l/a,b") == ("e", {"items": ["a", "b"]})
    assert urls.build("e", {"items": ["x y", "z"]}) == "/l/x%20y,z"


def test_custom_converter_given_to_map_constructor() -> None:
    urls = adapter(Rule("/<list:items>", endpoint="e"), converters={"list": ListConverter})
    assert urls.match("/a,b") == ("e", {"items": ["a", "b"]})


def test_custom_regex_with_slash_spans_segments() -> None:
    class TwoLevels(BaseConverter):
        regex = "[^/]+/[^/]+"

    assert TwoLevels.part_isolating is False
    assert match("/<two:x>/end", "/a/b/end", converters={"two": TwoLevels}) == {"x": "a/b"}


def test_validation_error_lets_the_next_rule_match() -> None:
    urls = adapter(Rule("/n/<int(max=5):n>", endpoint="small"), Rule("/n/<int:n>", endpoint="big"))
    assert urls.match("/n/4") == ("small", {"n": 4})
    assert urls.match("/n/9") == ("big", {"n": 9})


def test_custom_converter_validation_error_is_a_miss() -> None:
    class Even(BaseConverter):
        regex = r"\d+"

        def to_python(self, value: str) -> int:
            if int(value) % 2:
                raise ValidationError()
            return int(value)

    urls = adapter(Rule("/n/<even:n>", endpoint="even"), converters={"even": Even})
    assert urls.match("/n/4") == ("even", {"n": 4})
    with pytest.raises(NotFound):
        urls.match("/n/5")


# -- precedence ---------------------------------------------------------------------------


def test_static_rule_beats_converter_added_first() -> None:
    urls = adapter(Rule("/u/<name>", endpoint="user"), Rule("/u/me", endpoint="me"))
    assert urls.match("/u/me") == ("me", {})
    assert urls.match("/u/you") == ("user", {"name": "you"})


def test_int_converter_beats_string_converter() -> None:
    urls = adapter(Rule("/<name>", endpoint="name"), Rule("/<int:id>", endpoint="id"))
    assert urls.match("/12") == ("id", {"id": 12})
    assert urls.match("/ab") == ("name", {"name": "ab"})


def test_segment_with_static_text_beats_bare_converter() -> None:
    urls = adapter(Rule("/<name>", endpoint="name"), Rule("/p-<int:n>.html", endpoint="page"))
    assert urls.match("/p-3.html") == ("page", {"n": 3})


def test_string_converter_beats_path_converter() -> None:
    urls = adapter(Rule("/<path:p>", endpoint="path"), Rule("/<name>", endpoint="name"))
    assert urls.match("/a") == ("name", {"name": "a"})
    assert urls.match("/a/b") == ("path", {"p": "a/b"})


def test_static_rule_for_other_method_falls_back_to_converter_rule() -> None:
    urls = adapter(
        Rule("/u/me", methods=["POST"], endpoint="me"), Rule("/u/<name>", endpoint="user")
    )
    assert urls.match("/u/me", "GET") == ("user", {"name": "me"})
    assert urls.match("/u/me", "POST") == ("me", {})


def test_backtracks_when_deeper_segments_fail() -> None:
    urls = adapter(Rule("/x/y/z", endpoint="static"), Rule("/x/<a>/w", endpoint="dynamic"))
    assert urls.match("/x/y/w") == ("dynamic", {"a": "y"})


def test_matching_only_converts_values_on_the_requested_branch() -> None:
    calls: list[str] = []

    class Counting(BaseConverter):
        def to_python(self, value: str) -> str:
            calls.append(value)
            return value

    rules = [Rule(f"/r{i}/<counting:x>", endpoint=f"e{i}") for i in range(1000)]
    urls = adapter(*rules, converters={"counting": Counting})
    assert urls.match("/r999/v") == ("e999", {"x": "v"})
    assert calls == ["v"]


def test_rule_defaults_are_in_view_args() -> None:
    urls = adapter(Rule("/", defaults={"page": 1}, endpoint="index"))
    assert urls.match("/") == ("index", {"page": 1})


def test_match_can_return_the_rule() -> None:
    rule = Rule("/x", endpoint="e")
    rule_matched, values = adapter(rule).match("/x", return_rule=True)
    assert rule_matched is rule
    assert values == {}


# -- slashes ------------------------------------------------------------------------------


def test_branch_without_slash_redirects_with_308() -> None:
    urls = adapter(Rule("/docs/", endpoint="docs"))
    with pytest.raises(RequestRedirect) as caught:
        urls.match("/docs")
    assert caught.value.code == 308
    assert caught.value.new_url == "http://example.com/docs/"


def test_slash_redirect_keeps_query_string() -> None:
    url_map = Map([Rule("/docs/", endpoint="docs")])
    urls = url_map.bind("example.com", query_args="a=1&b=%20")
    assert redirect_target(urls, "/docs") == "http://example.com/docs/?a=1&b=%20"


def test_slash_redirect_stays_below_script_name() -> None:
    urls = adapter(Rule("/docs/", endpoint="docs"), script_name="/app")
    assert redirect_target(urls, "/docs") == "http://example.com/app/docs/"


def test_leaf_requested_with_slash_is_not_found() -> None:
    with pytest.raises(NotFound):
        match("/about", "/about/")


def test_non_strict_branch_matches_without_slash() -> None:
    urls = adapter(Rule("/docs/", endpoint="docs", strict_slashes=False))
    assert urls.match("/docs") == ("docs", {})
    assert urls.match("/docs/") == ("docs", {})


def test_non_strict_leaf_matches_with_slash() -> None:
    urls = adapter(Rule("/about", endpoint="about"), strict_slashes=False)
    assert urls.match("/about/") == ("about", {})


def test_path_rule_ending_in_slash_redirects() -> None:
    urls = adapter(Rule("/d/<path:p>/", endpoint="dir"))
    assert urls.match("/d/a/b/") == ("dir", {"p": "a/b"})
    assert redirect_target(urls, "/d/a/b") == "http://example.com/d/a/b/"


def test_empty_path_redirects_to_root() -> None:
    assert redirect_target(adapter(Rule("/", endpoint="i")), "") == "http://example.com/"


def test_repeated_slashes_redirect_to_merged_path() -> None:
    urls = adapter(Rule("/a/b", endpoint="ab"))
    assert redirect_target(urls, "/a//b") == "http://example.com/a/b"


def test_repeated_slashes_are_not_found_without_merge_slashes() -> None:
    with pytest.raises(NotFound):
        match("/a/b", "/a//b", merge_slashes=False)


def test_redirect_url_quotes_the_path() -> None:
    urls = adapter(Rule("/<name>/", endpoint="e"))
    assert redirect_target(urls, "/a b") == "http://example.com/a%20b/"


# -- 404, 405, WebSocket ------------------------------------------------------------------


def test_unknown_path_is_not_found() -> None:
    with pytest.raises(NotFound):
        adapter(Rule("/", endpoint="i")).match("/missing")


def test_wrong_method_lists_valid_methods() -> None:
    urls = adapter(
        Rule("/x", methods=["GET"], endpoint="a"), Rule("/x", methods=["POST"], endpoint="b")
    )
    with pytest.raises(MethodNotAllowed) as caught:
        urls.match("/x", "DELETE")
    assert caught.value.valid_methods == ["GET", "HEAD", "POST"]
    assert ("Allow", "GET, HEAD, POST") in caught.value.get_headers()


def test_methods_are_upper_cased_and_get_adds_head() -> None:
    rule = Rule("/", methods=["get", "post"])
    assert rule.methods == {"GET", "HEAD", "POST"}


def test_head_matches_get_rule() -> None:
    assert adapter(Rule("/", methods=["GET"], endpoint="i")).match("/", "HEAD") == ("i", {})


def test_methods_given_as_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="list of strings"):
        Rule("/", methods="GET")


def test_allowed_methods_of_a_path() -> None:
    urls = adapter(Rule("/x", methods=["PUT"], endpoint="e"))
    assert urls.allowed_methods("/x") == ["PUT"]
    assert urls.allowed_methods("/missing") == []


def test_http_request_to_websocket_rule_is_websocket_mismatch() -> None:
    urls = adapter(Rule("/ws", endpoint="ws", websocket=True))
    with pytest.raises(WebsocketMismatch) as caught:
        urls.match("/ws")
    assert isinstance(caught.value, BadRequest)
    assert urls.match("/ws", websocket=True) == ("ws", {})


def test_websocket_rule_refuses_post() -> None:
    with pytest.raises(ValueError, match="WebSocket"):
        Rule("/ws", methods=["POST"], websocket=True)


# -- redirects ----------------------------------------------------------------------------


def test_url_with_default_values_redirects_to_canonical_rule() -> None:
    urls = adapter(
        Rule("/page/", defaults={"n": 1}, endpoint="page"), Rule("/page/<int:n>", endpoint="page")
    )
    assert redirect_target(urls, "/page/1") == "http://example.com/page/"
    assert urls.match("/page/2") == ("page", {"n": 2})


def test_no_default_redirect_when_disabled() -> None:
    urls = adapter(
        Rule("/page/", defaults={"n": 1}, endpoint="page"),
        Rule("/page/<int:n>", endpoint="page"),
        redirect_defaults=False,
    )
    assert urls.match("/page/1") == ("page", {"n": 1})


def test_redirect_to_string_fills_variables() -> None:
    urls = adapter(
        Rule("/old/<int:n>", redirect_to="/new/<n>"), Rule("/new/<int:n>", endpoint="new")
    )
    assert redirect_target(urls, "/old/3") == "http://example.com/new/3"


def test_redirect_to_callable_gets_adapter_and_values() -> None:
    def target(urls: MapAdapter, n: int) -> str:
        return urls.build("new", {"n": n * 2})

    urls = adapter(Rule("/old/<int:n>", redirect_to=target), Rule("/new/<int:n>", endpoint="new"))
    assert redirect_target(urls, "/old/3") == "http://example.com/new/6"


def test_alias_rule_redirects_to_canonical_rule() -> None:
    urls = adapter(Rule("/canonical", endpoint="e"), Rule("/alias", endpoint="e", alias=True))
    assert redirect_target(urls, "/alias") == "http://example.com/canonical"


def test_request_redirect_response_is_308_with_location() -> None:
    response = RequestRedirect("http://example.com/x/").get_response()
    assert response.status_code == 308
    assert response.headers["Location"] == "http://example.com/x/"


# -- building -----------------------------------------------------------------------------


def test_build_is_relative_to_script_name() -> None:
    urls = adapter(Rule("/u/<name>", endpoint="user"), script_name="/app")
    assert urls.build("user", {"name": "amy"}) == "/app/u/amy"


def test_build_external_uses_server_name_and_scheme() -> None:
    url_map = Map([Rule("/u/<int:id>", endpoint="user")])
    urls = url_map.bind("example.com:8080", "/app", url_scheme="https")
    assert urls.build("user", {"id": 5}, force_external=True) == "https://example.com:8080/app/u/5"


def test_build_with_other_url_scheme() -> None:
    urls = adapter(Rule("/", endpoint="i"))
    assert urls.build("i", force_external=True, url_scheme="https") == "https://example.com/"


def test_build_quotes_values() -> None:
    urls = adapter(Rule("/s/<q>", endpoint="s"), Rule("/f/<path:p>", endpoint="f"))
    assert urls.build("s", {"q": "a b/ü?#"}) == "/s/a%20b/%C3%BC%3F%23"
    assert urls.build("f", {"p": "dir/a b"}) == "/f/dir/a%20b"


def test_build_quotes_static_parts() -> None:
    assert adapter(Rule("/caf é", endpoint="e")).build("e") == "/caf%20%C3%A9"


def test_build_appends_unknown_values_as_query() -> None:
    urls = adapter(Rule("/s", endpoint="s"))
    assert urls.build("s", {"q": "a b", "tag": ["x", "y"]}) == "/s?q=a+b&tag=x&tag=y"


def test_build_accepts_multidict_values() -> None:
    values = MultiDict([("tag", "x"), ("tag", "y"), ("one", "1")])
    assert adapter(Rule("/s", endpoint="s")).build("s", values) == "/s?tag=x&tag=y&one=1"


def test_build_drops_none_values() -> None:
    assert adapter(Rule("/s", endpoint="s")).build("s", {"q": None}) == "/s"


def test_build_without_appending_unknown_values() -> None:
    urls = adapter(Rule("/s", endpoint="s"))
    assert urls.build("s", {"q": "1"}, append_unknown=False) == "/s"


def test_build_sorts_query_when_asked() -> None:
    urls = adapter(Rule("/s", endpoint="s"), sort_parameters=True)
    assert urls.build("s", {"b": 1, "a": 2}) == "/s?a=2&b=1"


def test_build_picks_rule_whose_defaults_fit() -> None:
    urls = adapter(
        Rule("/page/", defaults={"n": 1}, endpoint="page"), Rule("/page/<int:n>", endpoint="page")
    )
    assert urls.build("page", {"n": 1}) == "/page/"
    assert urls.build("page", {"n": 2}) == "/page/2"
    assert urls.build("page") == "/page/"


def test_build_picks_rule_by_method() -> None:
    urls = adapter(
        Rule("/read", methods=["GET"], endpoint="e"), Rule("/write", methods=["POST"], endpoint="e")
    )
    assert urls.build("e") == "/read"
    assert urls.build("e", method="POST") == "/write"


def test_build_int_with_fixed_digits() -> None:
    assert adapter(Rule("/<int(fixed_digits=3):n>", endpoint="e")).build("e", {"n": 7}) == "/007"


def test_build_on_other_subdomain_is_absolute() -> None:
    urls = adapter(Rule("/", subdomain="<user>", endpoint="home"))
    assert urls.build("home", {"user": "amy"}) == "http://amy.example.com/"


def test_build_websocket_rule_is_absolute_ws_url() -> None:
    urls = adapter(Rule("/ws", endpoint="ws", websocket=True))
    assert urls.build("ws") == "ws://example.com/ws"


def test_build_error_is_a_lookup_error_suggesting_close_endpoint() -> None:
    urls = adapter(Rule("/u/<name>", endpoint="user_profile"))
    with pytest.raises(LookupError) as caught:
        urls.build("user_profil", {"name": "x"})
    assert isinstance(caught.value, BuildError)
    assert "Did you mean 'user_profile' instead?" in str(caught.value)


def test_build_error_names_missing_values() -> None:
    urls = adapter(Rule("/u/<name>", endpoint="user"))
    with pytest.raises(BuildError, match=r"Did you forget to specify values \['name'\]"):
        urls.build("user")


def test_build_error_suggests_methods() -> None:
    urls = adapter(Rule("/x", methods=["POST"], endpoint="x"))
    with pytest.raises(BuildError, match="Did you mean to use methods"):
        urls.build("x", method="GET")


def test_build_only_rule_builds_but_never_matches() -> None:
    urls = adapter(Rule("/static/<path:f>", endpoint="static", build_only=True))
    assert urls.build("static", {"f": "a.css"}) == "/static/a.css"
    with pytest.raises(NotFound):
        urls.match("/static/a.css")


# -- binding ------------------------------------------------------------------------------


def test_bind_to_environ_uses_script_name_for_building_and_redirects() -> None:
    url_map = Map([Rule("/docs/", endpoint="docs")])
    urls = url_map.bind_to_environ(environ("/docs", SCRIPT_NAME="/app", QUERY_STRING="x=1"))
    assert urls.build("docs") == "/app/docs/"
    assert redirect_target(urls, "/docs") == "http://example.com/app/docs/?x=1"


def test_bind_to_environ_matches_path_info() -> None:
    url_map = Map([Rule("/u/<name>", endpoint="user")])
    urls = url_map.bind_to_environ(environ("/u/amy", SCRIPT_NAME="/app"))
    assert urls.match() == ("user", {"name": "amy"})


def test_bind_to_environ_decodes_utf8_path() -> None:
    url_map = Map([Rule("/u/<name>", endpoint="user")])
    path = "/u/café".encode().decode("latin-1")
    assert url_map.bind_to_environ(environ(path)).match() == ("user", {"name": "café"})


def test_bind_to_environ_takes_request_method() -> None:
    url_map = Map([Rule("/x", methods=["POST"], endpoint="x")])
    assert url_map.bind_to_environ(environ("/x", REQUEST_METHOD="POST")).match() == ("x", {})


def test_bind_to_environ_accepts_object_with_environ() -> None:
    class Request:
        environ = environ("/x")

    assert Map([Rule("/x", endpoint="x")]).bind_to_environ(Request()).match() == ("x", {})


def test_bind_to_environ_finds_subdomain_below_server_name() -> None:
    url_map = Map([Rule("/", subdomain="<user>", endpoint="home"), Rule("/", endpoint="i")])
    urls = url_map.bind_to_environ(environ(HTTP_HOST="amy.example.com"), server_name="example.com")
    assert urls.match() == ("home", {"user": "amy"})


def test_bind_to_environ_warns_when_host_is_not_server_name() -> None:
    url_map = Map([Rule("/", endpoint="i")])
    with pytest.warns(UserWarning, match="doesn't match configured server name"):
        urls = url_map.bind_to_environ(environ(HTTP_HOST="other.org"), server_name="example.com")
    with pytest.raises(NotFound):
        urls.match()


def test_bind_to_environ_drops_default_port() -> None:
    urls = Map([Rule("/", endpoint="i")]).bind_to_environ(environ(HTTP_HOST="example.com:80"))
    assert urls.build("i", force_external=True) == "http://example.com/"


def test_bind_to_environ_uses_server_name_without_host_header() -> None:
    env = environ(SERVER_NAME="example.org", SERVER_PORT="8080")
    del env["HTTP_HOST"]
    urls = Map([Rule("/", endpoint="i")]).bind_to_environ(env)
    assert urls.build("i", force_external=True) == "http://example.org:8080/"


def test_host_matching_matches_and_builds_hosts() -> None:
    url_map = Map(
        [
            Rule("/", host="<site>.example.org", endpoint="site"),
            Rule("/", host="example.com", endpoint="i"),
        ],
        host_matching=True,
    )
    urls = url_map.bind_to_environ(environ(HTTP_HOST="docs.example.org"))
    assert urls.match() == ("site", {"site": "docs"})
    assert urls.build("i") == "http://example.com/"


def test_bind_with_subdomain_under_host_matching_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="host matching"):
        Map(host_matching=True).bind("example.com", subdomain="x")


# -- the Map and Rule objects -------------------------------------------------------------


def test_iter_rules_in_order_added_and_by_endpoint() -> None:
    a, b, c = Rule("/a", endpoint="x"), Rule("/b", endpoint="y"), Rule("/c", endpoint="x")
    url_map = Map([a, b, c])
    assert list(url_map.iter_rules()) == [a, b, c]
    assert list(url_map.iter_rules("x")) == [a, c]


def test_rule_arguments_include_variables_and_defaults() -> None:
    rule = Rule("/<a>/<int:b>", defaults={"c": 1}, endpoint="e")
    Map([rule])
    assert rule.arguments == {"a", "b", "c"}


def test_empty_rule_is_an_unbound_copy() -> None:
    rule = Rule("/x/<int:n>", endpoint="e", methods=["POST"], defaults={"k": 1})
    Map([rule])
    copy = rule.empty()
    assert copy.map is None
    assert (copy.rule, copy.endpoint, copy.methods, copy.defaults) == (
        "/x/<int:n>",
        "e",
        {"POST"},
        {"k": 1},
    )
    Map([copy])


def test_rule_cannot_be_bound_twice() -> None:
    rule = Rule("/x", endpoint="e")
    Map([rule])
    with pytest.raises(RuntimeError, match="already bound"):
        Map([rule])


def test_provide_automatic_options_is_settable() -> None:
    rule = Rule("/x", endpoint="e")
    assert rule.provide_automatic_options is False
    rule.provide_automatic_options = True
    assert rule.provide_automatic_options is True


def test_rule_repr_shows_rule_methods_and_endpoint() -> None:
    rule = Rule("/x", methods=["GET"], endpoint="e")
    Map([rule])
    assert repr(rule) == "<Rule '/x' (GET, HEAD) -> e>"


def test_default_converters_cannot_be_changed_through_the_class() -> None:
    with pytest.raises(TypeError):
        Map.default_converters["x"] = ListConverter  # type: ignore[index]


def test_is_endpoint_expecting() -> None:
    url_map = Map([Rule("/<lang>/", endpoint="i")])
    assert url_map.is_endpoint_expecting("i", "lang")
    assert not url_map.is_endpoint_expecting("i", "other")
