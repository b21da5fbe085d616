"""MultiDict family, Headers, EnvironHeaders, FileStorage and the parsed header values."""

from __future__ import annotations

import copy
import io
import pickle
from pathlib import Path

import pytest

from treadle.datastructures import (
    Accept,
    CombinedMultiDict,
    ContentRange,
    EnvironHeaders,
    ETags,
    FileStorage,
    Headers,
    HeaderSet,
    ImmutableMultiDict,
    LanguageAccept,
    MIMEAccept,
    MultiDict,
    Range,
    ResponseCacheControl,
)
from treadle.exceptions import BadRequestKeyError

# --- MultiDict ---------------------------------------------------------------------------


def test_multidict_item_is_the_first_value() -> None:
    assert MultiDict([("a", "1"), ("a", "2")])["a"] == "1"


def test_multidict_missing_key_raises_bad_request_key_error() -> None:
    with pytest.raises(BadRequestKeyError):
        MultiDict()["missing"]


def test_multidict_from_dict_with_lists_keeps_every_value() -> None:
    assert MultiDict({"a": ["1", "2"], "b": "3"}).getlist("a") == ["1", "2"]


def test_multidict_getlist_of_missing_key_is_empty() -> None:
    assert MultiDict().getlist("a") == []


def test_multidict_getlist_with_type_drops_values_that_fail() -> None:
    assert MultiDict([("n", "1"), ("n", "x"), ("n", "3")]).getlist("n", type=int) == [1, 3]


def test_multidict_getlist_returns_a_copy() -> None:
    md = MultiDict([("a", "1")])
    md.getlist("a").append("2")
    assert md.getlist("a") == ["1"]


def test_multidict_add_appends_a_value() -> None:
    md = MultiDict([("a", "1")])
    md.add("a", "2")
    assert md.getlist("a") == ["1", "2"]


def test_multidict_setitem_replaces_all_values() -> None:
    md = MultiDict([("a", "1"), ("a", "2")])
    md["a"] = "3"
    assert md.getlist("a") == ["3"]


def test_multidict_setlist_sets_several_values() -> None:
    md = MultiDict()
    md.setlist("a", ["1", "2"])
    assert md.getlist("a") == ["1", "2"]


def test_multidict_setdefault_keeps_existing_value() -> None:
    md = MultiDict([("a", "1")])
    assert md.setdefault("a", "2") == "1"
    assert md.setdefault("b", "3") == "3"


def test_multidict_setlistdefault_returns_the_stored_list() -> None:
    md = MultiDict()
    md.setlistdefault("a", ["1"]).append("2")
    assert md.getlist("a") == ["1", "2"]


def test_multidict_get_returns_default_for_missing_key() -> None:
    assert MultiDict().get("a", "fallback") == "fallback"


def test_multidict_get_with_type_converts() -> None:
    assert MultiDict([("n", "42")]).get("n", type=int) == 42


def test_multidict_get_with_type_returns_default_when_conversion_fails() -> None:
    assert MultiDict([("n", "x")]).get("n", -1, type=int) == -1


def test_multidict_to_dict_flat_takes_first_values() -> None:
    assert MultiDict([("a", "1"), ("a", "2")]).to_dict() == {"a": "1"}


def test_multidict_to_dict_not_flat_keeps_lists() -> None:
    assert MultiDict([("a", "1"), ("a", "2")]).to_dict(flat=False) == {"a": ["1", "2"]}


def test_multidict_items_gives_first_values() -> None:
    assert list(MultiDict([("a", "1"), ("a", "2"), ("b", "3")]).items()) == [
        ("a", "1"),
        ("b", "3"),
    ]


def test_multidict_items_multi_gives_every_pair() -> None:
    pairs = [("a", "1"), ("a", "2"), ("b", "3")]
    assert list(MultiDict(pairs).items(multi=True)) == pairs


def test_multidict_lists_gives_key_and_all_values() -> None:
    assert list(MultiDict([("a", "1"), ("a", "2")]).lists()) == [("a", ["1", "2"])]


def test_multidict_values_gives_first_values() -> None:
    assert list(MultiDict([("a", "1"), ("a", "2")]).values()) == ["1"]


def test_multidict_update_extends_instead_of_replacing() -> None:
    md = MultiDict([("a", "1")])
    md.update({"a": "2"})
    assert md.getlist("a") == ["1", "2"]


def test_multidict_pop_returns_first_value_and_removes_key() -> None:
    md = MultiDict([("a", "1"), ("a", "2")])
    assert md.pop("a") == "1"
    assert "a" not in md


def test_multidict_pop_missing_with_default() -> None:
    assert MultiDict().pop("a", None) is None


def test_multidict_poplist_returns_every_value() -> None:
    assert MultiDict([("a", "1"), ("a", "2")]).poplist("a") == ["1", "2"]


def test_multidict_copy_is_independent() -> None:
    md = MultiDict([("a", "1")])
    other = md.copy()
    other.add("a", "2")
    assert md.getlist("a") == ["1"]


def test_multidict_survives_pickle() -> None:
    md = MultiDict([("a", "1"), ("a", "2")])
    assert pickle.loads(pickle.dumps(md)).getlist("a") == ["1", "2"]


def test_multidict_is_a_dict() -> None:
    assert isinstance(MultiDict(), dict)


def test_multidict_shallow_copy_module_works() -> None:
    md = MultiDict([("a", "1")])
    assert copy.copy(md).getlist("a") == ["1"]


# --- ImmutableMultiDict and CombinedMultiDict --------------------------------------------


def test_immutable_multidict_refuses_setitem_and_names_the_fix() -> None:
    with pytest.raises(TypeError, match="copy"):
        ImmutableMultiDict()["a"] = "1"


IMMUTABLE_CALLS = {
    "add": ("a", "x"),
    "setlist": ("a", ["x"]),
    "pop": ("a",),
    "poplist": ("a",),
    "update": ({"a": "x"},),
    "clear": (),
}


@pytest.mark.parametrize(("method", "args"), sorted(IMMUTABLE_CALLS.items()))
def test_immutable_multidict_refuses_mutating_methods(
    method: str, args: tuple[object, ...]
) -> None:
    md = ImmutableMultiDict([("a", "1")])
    with pytest.raises(TypeError):
        getattr(md, method)(*args)


def test_immutable_multidict_copy_is_mutable() -> None:
    md = ImmutableMultiDict([("a", "1")]).copy()
    md.add("a", "2")
    assert md.getlist("a") == ["1", "2"]


def test_immutable_multidict_is_hashable() -> None:
    assert hash(ImmutableMultiDict([("a", "1")])) == hash(ImmutableMultiDict([("a", "1")]))


def test_combined_multidict_earlier_dict_wins() -> None:
    combined = CombinedMultiDict([MultiDict([("a", "1")]), MultiDict([("a", "2")])])
    assert combined["a"] == "1"


def test_combined_multidict_getlist_joins_all_dicts() -> None:
    combined = CombinedMultiDict([MultiDict([("a", "1")]), MultiDict([("a", "2")])])
    assert combined.getlist("a") == ["1", "2"]


def test_combined_multidict_keys_are_the_union() -> None:
    combined = CombinedMultiDict([MultiDict([("a", "1")]), MultiDict([("b", "2"), ("a", "3")])])
    assert sorted(combined) == ["a", "b"]
    assert len(combined) == 2


def test_combined_multidict_missing_key_is_a_400() -> None:
    with pytest.raises(BadRequestKeyError):
        CombinedMultiDict([MultiDict()])["x"]


def test_combined_multidict_to_dict() -> None:
    combined = CombinedMultiDict([MultiDict([("a", "1")]), MultiDict([("b", "2")])])
    assert combined.to_dict() == {"a": "1", "b": "2"}


def test_combined_multidict_is_read_only() -> None:
    with pytest.raises(TypeError):
        CombinedMultiDict([MultiDict()])["a"] = "1"


def test_combined_multidict_get_with_type() -> None:
    combined = CombinedMultiDict([MultiDict([("n", "5")])])
    assert combined.get("n", type=int) == 5
    assert combined.get("missing", "d") == "d"


# --- Headers -----------------------------------------------------------------------------


def test_headers_lookup_ignores_case() -> None:
    assert Headers([("Content-Type", "text/plain")])["content-type"] == "text/plain"


def test_headers_missing_name_raises_key_error() -> None:
    with pytest.raises(KeyError):
        Headers()["X-Missing"]


def test_headers_get_default_and_type() -> None:
    headers = Headers([("X-Count", "3")])
    assert headers.get("x-count", type=int) == 3
    assert headers.get("x-none", "d") == "d"


def test_headers_getlist_returns_repeated_values_in_order() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("X", "y"), ("set-cookie", "b=2")])
    assert headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_headers_add_keeps_existing_values() -> None:
    headers = Headers([("Vary", "Cookie")])
    headers.add("Vary", "Accept")
    assert headers.getlist("vary") == ["Cookie", "Accept"]


def test_headers_add_with_options_writes_parameters() -> None:
    headers = Headers()
    headers.add("Content-Disposition", "attachment", filename="a b.txt")
    assert headers["Content-Disposition"] == 'attachment; filename="a b.txt"'


def test_headers_set_replaces_all_values_in_place_of_first() -> None:
    headers = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    headers.set("A", "9")
    assert list(headers) == [("A", "9"), ("B", "2")]


def test_headers_set_appends_new_name() -> None:
    headers = Headers([("A", "1")])
    headers.set("B", "2")
    assert list(headers) == [("A", "1"), ("B", "2")]


def test_headers_setitem_is_set() -> None:
    headers = Headers([("A", "1")])
    headers["a"] = "2"
    assert list(headers) == [("a", "2")]


def test_headers_setdefault_keeps_existing() -> None:
    headers = Headers([("A", "1")])
    assert headers.setdefault("A", "2") == "1"
    assert headers.setdefault("B", "3") == "3"


def test_headers_extend_adds_from_mapping_and_pairs() -> None:
    headers = Headers([("A", "1")])
    headers.extend({"A": "2"})
    headers.extend([("B", "3")])
    assert list(headers) == [("A", "1"), ("A", "2"), ("B", "3")]


def test_headers_update_replaces_named_headers() -> None:
    headers = Headers([("A", "1"), ("B", "2")])
    headers.update({"A": "9"})
    assert list(headers) == [("A", "9"), ("B", "2")]


def test_headers_remove_drops_every_value() -> None:
    headers = Headers([("A", "1"), ("a", "2"), ("B", "3")])
    headers.remove("A")
    assert list(headers) == [("B", "3")]


def test_headers_delitem_by_name() -> None:
    headers = Headers([("A", "1")])
    del headers["a"]
    assert "A" not in headers


def test_headers_contains_ignores_case() -> None:
    assert "x-thing" in Headers([("X-Thing", "1")])


def test_headers_iterates_name_value_pairs() -> None:
    assert list(Headers([("A", "1")])) == [("A", "1")]


def test_headers_to_wsgi_list_is_a_copy() -> None:
    headers = Headers([("A", "1")])
    wsgi = headers.to_wsgi_list()
    wsgi.append(("B", "2"))
    assert len(headers) == 1


def test_headers_reject_newlines_in_values() -> None:
    with pytest.raises(ValueError, match="newline"):
        Headers().add("X", "a\r\nInjected: yes")


def test_headers_convert_non_strings() -> None:
    headers = Headers()
    headers.set("Content-Length", 5)
    assert headers["Content-Length"] == "5"


def test_headers_pop_returns_value_and_removes() -> None:
    headers = Headers([("A", "1")])
    assert headers.pop("A") == "1"
    assert headers.pop("A", None) is None


def test_headers_str_is_the_wire_block() -> None:
    assert str(Headers([("A", "1")])) == "A: 1\r\n\r\n"


def test_headers_equal_ignoring_name_case() -> None:
    assert Headers([("A", "1")]) == Headers([("a", "1")])


# --- EnvironHeaders ----------------------------------------------------------------------


def test_environ_headers_read_http_keys() -> None:
    headers = EnvironHeaders({"HTTP_X_REQUEST_ID": "abc"})
    assert headers["X-Request-Id"] == "abc"


def test_environ_headers_read_content_type_without_prefix() -> None:
    headers = EnvironHeaders({"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "3"})
    assert headers["Content-Type"] == "text/plain"
    assert headers.get("content-length", type=int) == 3


def test_environ_headers_iterate_title_cased_names() -> None:
    environ = {"HTTP_HOST": "h", "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "", "PATH": "/"}
    assert sorted(EnvironHeaders(environ)) == [("Content-Type", "text/plain"), ("Host", "h")]


def test_environ_headers_are_read_only() -> None:
    with pytest.raises(TypeError, match="read-only"):
        EnvironHeaders({}).add("X", "1")


def test_environ_headers_missing_is_bad_request_key_error() -> None:
    with pytest.raises(BadRequestKeyError):
        EnvironHeaders({})["X-Nope"]


def test_environ_headers_contains() -> None:
    assert "user-agent" in EnvironHeaders({"HTTP_USER_AGENT": "t"})


# --- FileStorage -------------------------------------------------------------------------


def test_file_storage_attributes() -> None:
    storage = FileStorage(
        io.BytesIO(b"data"), "a.txt", "upload", content_type="text/plain; charset=utf-8"
    )
    assert (storage.filename, storage.name) == ("a.txt", "upload")
    assert storage.mimetype == "text/plain"
    assert storage.mimetype_params == {"charset": "utf-8"}


def test_file_storage_save_to_path(tmp_path: Path) -> None:
    FileStorage(io.BytesIO(b"payload"), "x.bin").save(tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"payload"


def test_file_storage_save_to_open_file_leaves_it_open() -> None:
    out = io.BytesIO()
    FileStorage(io.BytesIO(b"payload")).save(out, buffer_size=2)
    assert out.getvalue() == b"payload"
    assert not out.closed


def test_file_storage_proxies_read_to_stream() -> None:
    assert FileStorage(io.BytesIO(b"abc")).read() == b"abc"


def test_file_storage_without_filename_is_falsy() -> None:
    assert not FileStorage(io.BytesIO(b""), filename="")


def test_file_storage_close_closes_stream() -> None:
    stream = io.BytesIO(b"x")
    FileStorage(stream).close()
    assert stream.closed


# --- Accept ------------------------------------------------------------------------------


def test_accept_quality_of_listed_value() -> None:
    accept = Accept([("gzip", 1.0), ("br", 0.5)])
    assert accept["br"] == 0.5
    assert accept.quality("identity") == 0


def test_accept_wildcard_matches_anything() -> None:
    assert "deflate" in Accept([("*", 0.1)])


def test_accept_zero_quality_is_not_contained() -> None:
    assert "gzip" not in Accept([("gzip", 0.0)])


def test_accept_best_is_first_after_sorting() -> None:
    assert Accept([("a", 0.5), ("b", 1.0)]).best == "b"


def test_accept_not_provided_is_falsy() -> None:
    accept = Accept(None)
    assert not accept.provided
    assert accept.best is None


def test_mime_accept_best_match_prefers_client_quality() -> None:
    accept = MIMEAccept([("text/html", 1.0), ("application/json", 0.5)])
    assert accept.best_match(["application/json", "text/html"]) == "text/html"


def test_mime_accept_best_match_tie_goes_to_server_order() -> None:
    accept = MIMEAccept([("*/*", 1.0)])
    assert accept.best_match(["application/json", "text/html"]) == "application/json"


def test_mime_accept_best_match_default_when_nothing_matches() -> None:
    assert MIMEAccept([("image/png", 1.0)]).best_match(["text/html"], "x") == "x"


def test_mime_accept_specific_entry_overrides_wildcard() -> None:
    accept = MIMEAccept([("text/*", 1.0), ("text/plain", 0.2)])
    assert accept.quality("text/plain") == 0.2
    assert accept.quality("text/html") == 1.0


def test_mime_accept_json_and_html_flags() -> None:
    accept = MIMEAccept([("application/json", 1.0)])
    assert accept.accept_json
    assert not accept.accept_html


def test_language_accept_matches_region_variants() -> None:
    accept = LanguageAccept([("en", 1.0)])
    assert "en-US" in accept
    assert "de" not in accept


# --- ETags, Range, ContentRange, cache control, HeaderSet --------------------------------


def test_etags_strong_and_weak_membership() -> None:
    etags = ETags(["a"], ["b"])
    assert etags.contains("a") and not etags.contains("b")
    assert etags.contains_weak("b")
    assert etags.is_weak("b") and etags.is_strong("a")


def test_etags_star_contains_everything() -> None:
    assert ETags(star_tag=True).contains("anything")


def test_etags_to_header() -> None:
    assert ETags(["a"], ["b"]).to_header() == '"a", W/"b"'


def test_etags_empty_is_falsy() -> None:
    assert not ETags()


def test_range_for_length_of_open_range() -> None:
    assert Range("bytes", [(10, None)]).range_for_length(100) == (10, 100)


def test_range_for_length_of_suffix_range() -> None:
    assert Range("bytes", [(-30, None)]).range_for_length(100) == (70, 100)


def test_range_for_length_clamps_end() -> None:
    assert Range("bytes", [(90, 200)]).range_for_length(100) == (90, 100)


def test_range_beyond_length_is_unsatisfiable() -> None:
    assert Range("bytes", [(100, None)]).range_for_length(100) is None


def test_range_with_several_ranges_has_no_single_span() -> None:
    assert Range("bytes", [(0, 1), (5, 6)]).range_for_length(100) is None


def test_range_to_header_round_trip() -> None:
    assert Range("bytes", [(0, 500), (-100, None)]).to_header() == "bytes=0-499,-100"


def test_range_to_content_range_header() -> None:
    assert Range("bytes", [(0, 10)]).to_content_range_header(50) == "bytes 0-9/50"


def test_content_range_to_header() -> None:
    assert ContentRange("bytes", 0, 10, 50).to_header() == "bytes 0-9/50"
    assert ContentRange("bytes", None, None, 50).to_header() == "bytes */50"


def test_cache_control_attributes_write_the_directives() -> None:
    seen: list[str] = []
    control = ResponseCacheControl(on_update=lambda c: seen.append(c.to_header()))
    control.public = True
    control.max_age = 60
    assert control.to_header() == "public, max-age=60"
    assert seen[-1] == "public, max-age=60"
    assert control.max_age == 60 and control.public


def test_header_set_is_case_insensitive_and_ordered() -> None:
    vary = HeaderSet(["Cookie"])
    vary.add("cookie")
    vary.add("Accept-Encoding")
    assert vary.to_header() == "Cookie, Accept-Encoding"
    assert "COOKIE" in vary
