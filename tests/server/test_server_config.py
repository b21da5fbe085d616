"""ServerConfig: one table of defaults, clear errors for bad values."""

from __future__ import annotations

import pytest

from treadle.http.limits import Limits
from treadle.server.config import CONFIG_KEYS, ServerConfig, options_from_config, worker_timeout


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


def test_limits_may_be_given_flat_and_override_a_limits_object() -> None:
    config = ServerConfig.from_options({"limits": Limits(max_headers=10), "max_body": 99})
    assert config.limits == Limits(max_headers=10, max_body=99)


def test_every_option_has_one_config_key() -> None:
    assert CONFIG_KEYS["header_timeout"] == "SERVER_HEADER_TIMEOUT"
    assert CONFIG_KEYS["max_body"] == "SERVER_MAX_BODY"
    assert CONFIG_KEYS["max_requests"] == "SERVER_MAX_REQUESTS"
    assert "limits" not in CONFIG_KEYS
    for name in CONFIG_KEYS:  # each key names an option make_server takes
        default = getattr(ServerConfig(), name, None)
        if default is not None:
            ServerConfig.from_options({name: default})


def test_options_from_config_reads_only_server_keys() -> None:
    config = {"SERVER_TIMEOUT": 5, "SERVER_MAX_BODY": 10, "SECRET_KEY": "x", "TIMEOUT": 1}
    assert options_from_config(config) == {"timeout": 5, "max_body": 10}


def test_options_from_config_names_the_key_of_a_bad_value() -> None:
    with pytest.raises(ValueError, match=r"app.config\['SERVER_MAX_HEADERS'\]"):
        options_from_config({"SERVER_MAX_HEADERS": 0})


def test_max_requests_zero_means_never() -> None:
    assert ServerConfig().max_requests == 0
    with pytest.raises(ValueError, match="max_requests must not be negative"):
        ServerConfig(max_requests=-1)


def test_worker_timeout_defaults_to_30s_single_threaded_and_off_threaded() -> None:
    assert worker_timeout(ServerConfig(), threaded=False) == 30
    assert worker_timeout(ServerConfig(), threaded=True) == 0
    assert worker_timeout(ServerConfig(timeout=0), threaded=False) == 0
    assert worker_timeout(ServerConfig(timeout=2.5), threaded=True) == 2.5
