"""ServerConfig: one table of defaults, clear errors for bad values."""

from __future__ import annotations

import pytest

from treadle.http.limits import Limits
from treadle.server.config import ServerConfig


def test_defaults_are_usable() -> None:
    config = ServerConfig()
    assert config.threads > 0
    assert config.limits == Limits()


def test_unknown_option_is_named_with_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"thread_count.*valid options are .*threads"):
        ServerConfig.from_options({"thread_count": 4})


def test_non_positive_timeout_is_rejected() -> None:
    with pytest.raises(ValueError, match="header_timeout must be greater than 0"):
        ServerConfig(header_timeout=0)


def test_threads_must_be_an_integer() -> None:
    with pytest.raises(TypeError, match="threads must be an integer"):
        ServerConfig(threads=2.5)  # type: ignore[arg-type]


def test_limits_must_be_a_limits_instance() -> None:
    with pytest.raises(TypeError, match=r"limits must be a treadle\.http\.limits\.Limits"):
        ServerConfig(limits={"max_body": 10})  # type: ignore[arg-type]


def test_zero_drain_is_allowed() -> None:
    assert ServerConfig(max_drain=0).max_drain == 0
