"""Header parsing and formatting helpers: dates, options, cookies, ETags, ranges, Accept."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta

import pytest

from treadle.datastructures import LanguageAccept, MIMEAccept
from treadle.httputil import (
    HTTP_STATUS_CODES,
    dump_cookie,
    dump_options_header,
    escape_html,
    generate_etag,
    get_content_type,
    http_date,
    iri_to_uri,
    is_resource_modified,
    parse_accept_header,
    parse_authorization_header,
    parse_cache_control_header,
    parse_content_range_header,
    parse_cookie,
    parse_date,
    parse_dict_header,
    parse_etags,
    parse_if_range_header,
    parse_list_header,
    parse_options_header,
    parse_query_string,
    parse_range_header,
    quote_etag,
    quote_header_value,
    unquote_etag,
)

MOMENT = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
MOMENT_TEXT = "Sun, 06 Nov 1994 08:49:37 GMT"


def test_status_table_has_common_reasons() -> None:
    assert HTTP_STATUS_CODES[200] == "OK"
    assert HTTP_STATUS_CODES[404] == "Not Found"
    assert HTTP_STATUS_CODES[418] == "I'm a teapot"


# --- dates -------------------------------------------------------------------------------


def test_http_date_formats_aware_datetime() -> None:
    assert http_date(MOMENT) == MOMENT_TEXT


def test_http_date_treats_naive_datetime_as_utc() -> None:
    assert http_date(MOMENT.replace(tzinfo=None)) == MOMENT_TEXT


def test_http_date_formats_timestamp() -> None:
    assert http_date(MOMENT.timestamp()) == MOMENT_TEXT


def test_http_date_formats_date() -> None:
    assert http_date(date(1994, 11, 6)) == "Sun, 06 Nov 1994 00:00:00 GMT"


def test_http_date_converts_other_timezones_to_gmt() -> None:
    from datetime import timezone

    local = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert http_date(local) == MOMENT_TEXT


@pytest.mark.parametrize(
    "text",
    [MOMENT_TEXT, "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
)
def test_parse_date_reads_all_three_http_formats(text: str) -> None:
    assert parse_date(text) == MOMENT


@pytest.mark.parametrize("text", [None, "", "yesterday", "Sun, 99 Nov 1994 08:49:37 GMT"])
def test_parse_date_returns_none_for_junk(text: str | None) -> None:
    assert parse_date(text) is None


def test_parse_date_result_is_utc_aware() -> None:
    parsed = parse_date("Sun, 06 Nov 1994 10:49:37 +0200")
    assert parsed == MOMENT and parsed is not None and parsed.tzinfo is UTC


# --- options and lists -------------------------------------------------------------------


def test_parse_options_header_plain_value() -> None:
    assert parse_options_header("text/html") == ("text/html", {})


def test_parse_options_header_with_parameters() -> None:
    assert parse_options_header('text/html; charset="utf-8"; q=1') == (
        "text/html",
        {"charset": "utf-8", "q": "1"},
    )


def test_parse_options_header_lowercases_keys() -> None:
    assert parse_options_header("a; CharSet=UTF-8")[1] == {"charset": "UTF-8"}


def test_parse_options_header_unescapes_quoted_values() -> None:
    assert parse_options_header(r'a; x="say \"hi\""')[1] == {"x": 'say "hi"'}


def test_parse_options_header_keeps_windows_paths_in_filename() -> None:
    params = parse_options_header(r'form-data; name="f"; filename="C:\dir\a.txt"')[1]
    assert params["filename"] == r"C:\dir\a.txt"


def test_parse_options_header_decodes_rfc2231_and_prefers_it() -> None:
    value = "attachment; filename*=UTF-8''%E2%82%AC%20rates.txt; filename=fallback.txt"
    assert parse_options_header(value)[1] == {"filename": "€ rates.txt"}


def test_parse_options_header_skips_parameters_without_value() -> None:
    assert parse_options_header("a; junk; b=1")[1] == {"b": "1"}


def test_parse_options_header_of_none_is_empty() -> None:
    assert parse_options_header(None) == ("", {})


def test_parse_options_header_keeps_semicolons_inside_quotes() -> None:
    assert parse_options_header('a; x="1;2"; y=3')[1] == {"x": "1;2", "y": "3"}


def test_dump_options_header_quotes_when_needed() -> None:
    assert (
        dump_options_header("attachment", {"filename": "a b.txt", "size": 3, "inline": None})
        == 'attachment; filename="a b.txt"; size=3; inline'
    )


def test_quote_header_value_leaves_tokens_bare() -> None:
    assert quote_header_value("abc") == "abc"
    assert quote_header_value('a"b') == '"a\\"b"'


def test_parse_list_header_respects_quotes() -> None:
    assert parse_list_header('a, "b, c", d') == ["a", "b, c", "d"]


def test_parse_dict_header() -> None:
    assert parse_dict_header('no-cache, max-age=60, x="y z"') == {
        "no-cache": None,
        "max-age": "60",
        "x": "y z",
    }


def test_get_content_type_adds_charset_to_text() -> None:
    assert get_content_type("text/plain", "utf-8") == "text/plain; charset=utf-8"
    assert get_content_type("application/xml", "utf-8") == "application/xml; charset=utf-8"
    assert get_content_type("image/svg+xml", "utf-8") == "image/svg+xml; charset=utf-8"


def test_get_content_type_leaves_binary_types_alone() -> None:
    assert get_content_type("image/png", "utf-8") == "image/png"
    assert get_content_type("application/json", "utf-8") == "application/json"


# --- cookies -----------------------------------------------------------------------------


def test_parse_cookie_reads_pairs() -> None:
    assert parse_cookie("a=1; b=2").to_dict() == {"a": "1", "b": "2"}


def test_parse_cookie_keeps_repeated_names() -> None:
    assert parse_cookie("a=1; a=2").getlist("a") == ["1", "2"]


def test_parse_cookie_skips_junk_without_raising() -> None:
    assert parse_cookie("junk; =nameless; ok=1;;  ; x=").to_dict() == {"ok": "1", "x": ""}


def test_parse_cookie_of_none_is_empty() -> None:
    assert parse_cookie(None).to_dict() == {}


def test_parse_cookie_recovers_utf8_from_wsgi_latin1() -> None:
    raw = "name=" + "héllo".encode().decode("latin-1")
    assert parse_cookie(raw)["name"] == "héllo"


def test_parse_cookie_keeps_value_equals_signs() -> None:
    assert parse_cookie("token=abc==")["token"] == "abc=="


def test_dump_cookie_simple_value_is_bare() -> None:
    assert dump_cookie("a", "b", path=None) == "a=b"


def test_dump_cookie_has_path_by_default() -> None:
    assert dump_cookie("a", "b") == "a=b; Path=/"


def test_dump_cookie_all_attributes() -> None:
    cookie = dump_cookie(
        "sid",
        "v",
        max_age=60,
        expires=MOMENT,
        path="/app",
        domain="example.com",
        secure=True,
        httponly=True,
        samesite="lax",
        partitioned=True,
    )
    assert cookie == (
        f"sid=v; Domain=example.com; Expires={MOMENT_TEXT}; Max-Age=60; Secure; HttpOnly;"
        " Path=/app; SameSite=Lax; Partitioned"
    )


def test_dump_cookie_max_age_alone_also_sets_expires() -> None:
    cookie = dump_cookie("a", "b", max_age=timedelta(hours=1))
    assert "Max-Age=3600" in cookie
    assert "Expires=" in cookie


def test_dump_cookie_partitioned_implies_secure() -> None:
    assert "Secure" in dump_cookie("a", "b", partitioned=True)


@pytest.mark.parametrize("name", ["", "a b", "a;b", "a=b", "ü"])
def test_dump_cookie_rejects_invalid_names(name: str) -> None:
    with pytest.raises(ValueError, match="cookie name"):
        dump_cookie(name, "v")


def test_dump_cookie_rejects_unknown_samesite() -> None:
    with pytest.raises(ValueError, match="SameSite"):
        dump_cookie("a", "b", samesite="sometimes")


def test_dump_cookie_warns_when_too_big() -> None:
    with pytest.warns(UserWarning, match="cookie"):
        dump_cookie("big", "x" * 5000)


def test_dump_cookie_small_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dump_cookie("small", "x")


@pytest.mark.parametrize("value", ['quote " and ; semicolon', "ünïcödé", "a\\b", "", "sp ace"])
def test_cookie_value_round_trips(value: str) -> None:
    cookie = dump_cookie("k", value, path=None)
    assert parse_cookie(cookie)["k"] == value


# --- ETags -------------------------------------------------------------------------------


def test_quote_etag_strong_and_weak() -> None:
    assert quote_etag("abc") == '"abc"'
    assert quote_etag("abc", weak=True) == 'W/"abc"'


def test_quote_etag_rejects_quotes() -> None:
    with pytest.raises(ValueError, match="double quote"):
        quote_etag('a"b')


def test_unquote_etag() -> None:
    assert unquote_etag('W/"abc"') == ("abc", True)
    assert unquote_etag('"abc"') == ("abc", False)
    assert unquote_etag(None) == (None, False)


def test_generate_etag_is_stable_per_body() -> None:
    assert generate_etag(b"x") == generate_etag(b"x") != generate_etag(b"y")


def test_parse_etags_reads_strong_weak_and_unquoted() -> None:
    etags = parse_etags('"a", W/"b", c')
    assert etags.contains("a") and etags.contains("c")
    assert etags.is_weak("b")


def test_parse_etags_star() -> None:
    assert parse_etags("*").star_tag


def test_parse_etags_keeps_commas_inside_quotes() -> None:
    assert parse_etags('"a,b"').contains("a,b")


def test_parse_if_range_header_date_or_etag() -> None:
    assert parse_if_range_header(MOMENT_TEXT) == (None, MOMENT)
    assert parse_if_range_header('"abc"') == ("abc", None)


# --- conditional requests ----------------------------------------------------------------


def test_is_resource_modified_without_conditions() -> None:
    assert is_resource_modified({}, etag="abc")


def test_is_resource_modified_false_when_etag_matches() -> None:
    assert not is_resource_modified({"HTTP_IF_NONE_MATCH": '"abc"'}, etag="abc")


def test_is_resource_modified_uses_weak_comparison_for_if_none_match() -> None:
    assert not is_resource_modified({"HTTP_IF_NONE_MATCH": 'W/"abc"'}, etag="abc")


def test_is_resource_modified_true_when_etag_differs() -> None:
    assert is_resource_modified({"HTTP_IF_NONE_MATCH": '"old"'}, etag="new")


def test_is_resource_modified_by_date() -> None:
    environ = {"HTTP_IF_MODIFIED_SINCE": MOMENT_TEXT}
    assert not is_resource_modified(environ, last_modified=MOMENT)
    assert is_resource_modified(environ, last_modified=MOMENT + timedelta(seconds=1))


def test_is_resource_modified_ignores_microseconds() -> None:
    environ = {"HTTP_IF_MODIFIED_SINCE": MOMENT_TEXT}
    assert not is_resource_modified(environ, last_modified=MOMENT.replace(microsecond=5))


def test_if_none_match_takes_precedence_over_if_modified_since() -> None:
    environ = {"HTTP_IF_NONE_MATCH": '"old"', "HTTP_IF_MODIFIED_SINCE": MOMENT_TEXT}
    assert is_resource_modified(environ, etag="new", last_modified=MOMENT)


def test_is_resource_modified_with_data_hashes_it() -> None:
    environ = {"HTTP_IF_NONE_MATCH": f'"{generate_etag(b"body")}"'}
    assert not is_resource_modified(environ, data=b"body")


def test_is_resource_modified_refuses_both_etag_and_data() -> None:
    with pytest.raises(TypeError):
        is_resource_modified({}, etag="a", data=b"b")


def test_if_range_mismatch_counts_as_modified() -> None:
    environ = {"HTTP_RANGE": "bytes=0-1", "HTTP_IF_RANGE": '"old"'}
    assert is_resource_modified(environ, etag="new", ignore_if_range=False)
    assert not is_resource_modified(
        {"HTTP_RANGE": "bytes=0-1", "HTTP_IF_RANGE": '"same"'}, etag="same", ignore_if_range=False
    )


# --- ranges ------------------------------------------------------------------------------


def test_parse_range_header_closed_range() -> None:
    parsed = parse_range_header("bytes=0-499")
    assert parsed is not None and parsed.ranges == [(0, 500)]


def test_parse_range_header_open_and_suffix_ranges() -> None:
    parsed = parse_range_header("bytes=500-, -100")
    assert parsed is not None and parsed.ranges == [(500, None), (-100, None)]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "bytes",
        "bytes=",
        "bytes=a-b",
        "bytes=5-1",
        "bytes=-",
        "bytes=-0",
        "bytes=1",
        "bytes=\uff11-2",
    ],
)
def test_parse_range_header_rejects_malformed(value: str | None) -> None:
    assert parse_range_header(value) is None


def test_parse_content_range_header() -> None:
    parsed = parse_content_range_header("bytes 0-499/1234")
    assert parsed is not None and (parsed.start, parsed.stop, parsed.length) == (0, 500, 1234)


def test_parse_content_range_header_unknown_length_and_unsatisfied() -> None:
    star = parse_content_range_header("bytes 0-9/*")
    assert star is not None and star.length is None
    unsatisfied = parse_content_range_header("bytes */100")
    assert unsatisfied is not None and unsatisfied.start is None


@pytest.mark.parametrize("value", ["bytes", "bytes 5-1/10", "bytes 0-10/5", "bytes x-1/5"])
def test_parse_content_range_header_rejects_malformed(value: str) -> None:
    assert parse_content_range_header(value) is None


# --- Accept, Authorization, Cache-Control, URLs ------------------------------------------


def test_parse_accept_header_orders_by_specificity_then_quality() -> None:
    accept = parse_accept_header(
        "text/*;q=0.5, text/html, */*;q=0.1, application/json;q=0.9", MIMEAccept
    )
    assert list(accept.values()) == ["text/html", "application/json", "text/*", "*/*"]


def test_parse_accept_header_keeps_non_quality_params() -> None:
    accept = parse_accept_header("text/html;level=1;q=0.5", MIMEAccept)
    assert list(accept) == [("text/html;level=1", 0.5)]


def test_parse_accept_header_drops_bad_qualities() -> None:
    accept = parse_accept_header("a;q=x, b;q=2, c;q=0.3")
    assert list(accept) == [("c", 0.3)]


def test_parse_accept_header_missing_is_not_provided() -> None:
    assert not parse_accept_header(None).provided


def test_parse_accept_language() -> None:
    accept = parse_accept_header("de-CH, de;q=0.9, en;q=0.8", LanguageAccept)
    assert accept.best_match(["en", "de"]) == "de"


def test_parse_authorization_basic() -> None:
    auth = parse_authorization_header("Basic dXNlcjpwYTpzcw==")
    assert auth is not None
    assert (auth.type, auth.username, auth.password) == ("basic", "user", "pa:ss")


@pytest.mark.parametrize("value", ["Basic !!!", "Basic dXNlcg==", "", "Basic"])
def test_parse_authorization_rejects_bad_basic(value: str) -> None:
    assert parse_authorization_header(value) is None


def test_parse_authorization_bearer_token() -> None:
    auth = parse_authorization_header("Bearer abc.def-123")
    assert auth is not None and auth.type == "bearer" and auth.token == "abc.def-123"


def test_parse_authorization_parameters() -> None:
    auth = parse_authorization_header('Digest username="u", realm="r"')
    assert auth is not None and auth.parameters == {"username": "u", "realm": "r"}


def test_parse_cache_control_header() -> None:
    control = parse_cache_control_header("public, max-age=31536000, immutable")
    assert control.public and control.immutable and control.max_age == 31536000
    assert not control.no_store


def test_iri_to_uri_leaves_ascii_urls_alone() -> None:
    assert iri_to_uri("/a/b?c=d%20e") == "/a/b?c=d%20e"


def test_iri_to_uri_encodes_unicode_path_and_host() -> None:
    assert iri_to_uri("http://ü.example/ä b?q=ö") == "http://xn--tda.example/%C3%A4%20b?q=%C3%B6"


def test_parse_query_string_decodes_and_keeps_blanks() -> None:
    assert parse_query_string("a=1&b=x+y&c=%C3%A9&d=&e&&a=2") == [
        ("a", "1"),
        ("b", "x y"),
        ("c", "\u00e9"),
        ("d", ""),
        ("e", ""),
        ("a", "2"),
    ]


def test_parse_query_string_replaces_bad_utf8() -> None:
    assert parse_query_string("a=%ff") == [("a", "\ufffd")]


def test_parse_query_string_limits_fields() -> None:
    with pytest.raises(ValueError, match="more than 2"):
        parse_query_string("a=1&b=2&c=3", max_fields=2)
    assert len(parse_query_string("a=1&&&b=2", max_fields=2)) == 2


# --- never crash on client input (property tests) ----------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from treadle.datastructures import MIMEAccept as _MIMEAccept  # noqa: E402

_header_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=80)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_cookie_value_round_trips(value: str) -> None:
    assert parse_cookie(dump_cookie("k", value, path=None))["k"] == value


@settings(max_examples=150, deadline=None)
@given(_header_text)
def test_header_parsers_never_raise(value: str) -> None:
    parse_cookie(value)
    parse_options_header(value)
    parse_list_header(value)
    parse_dict_header(value)
    parse_etags(value)
    parse_range_header(value)
    parse_content_range_header(value)
    parse_accept_header(value, _MIMEAccept).best_match(["text/html", "application/json"])
    parse_authorization_header(value)
    parse_date(value)
    parse_if_range_header(value)
    parse_query_string(value)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_options_header_round_trips_parameter_values(value: str) -> None:
    header = dump_options_header("form-data", {"name": value})
    assert parse_options_header(header)[1]["name"] == value


def test_escape_html_matches_the_standard_library() -> None:
    import html

    text = """<a href="x?a=1&b='2'">café & co</a>"""
    assert escape_html(text) == html.escape(text, quote=True)
