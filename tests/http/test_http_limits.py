"""Limits: one table of defaults, validated when built."""

from __future__ import annotations

import pytest

from treadle.http.errors import LocalProtocolError, RemoteProtocolError
from treadle.http.limits import Limits


def test_defaults_match_the_documented_table() -> None:
    limits = Limits()
    assert (limits.max_request_line, limits.max_header_field, limits.max_head) == (8190, 8190, 65536)
    assert (limits.max_headers, limits.max_body) == (100, None)
    assert (limits.max_chunk_line, limits.max_trailers_size) == (1024, 8190)


@pytest.mark.parametrize("name", ["max_request_line", "max_head", "max_headers", "max_chunk_line"])
def test_non_positive_limit_is_rejected_with_its_name(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Limits(**{name: 0})


def test_max_body_zero_is_allowed_and_means_no_body() -> None:
    assert Limits(max_body=0).max_body == 0


def test_non_integer_limit_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="max_head"):
        Limits(max_head="64k")  # type: ignore[arg-type]


def test_remote_error_defaults_to_400_and_local_to_500() -> None:
    assert RemoteProtocolError("bad").status == 400
    assert LocalProtocolError("oops").status == 500
    assert RemoteProtocolError("too big", 413).message == "too big"
