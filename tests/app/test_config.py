"""Config: loaders keep uppercase keys only, and Flask's defaults are all present."""

from __future__ import annotations

import json
import os
import sys
import types
from datetime import timedelta
from pathlib import Path

import pytest

from treadle.config import DEFAULT_CONFIG, Config, import_string


def test_defaults_match_flask_names_and_values() -> None:
    assert DEFAULT_CONFIG["PERMANENT_SESSION_LIFETIME"] == timedelta(days=31)
    assert DEFAULT_CONFIG["SESSION_COOKIE_NAME"] == "session"
    assert DEFAULT_CONFIG["PREFERRED_URL_SCHEME"] == "http"
    assert DEFAULT_CONFIG["MAX_COOKIE_SIZE"] == 4093
    assert DEFAULT_CONFIG["PROVIDE_AUTOMATIC_OPTIONS"] is True
    for key in ("DEBUG", "PROPAGATE_EXCEPTIONS", "SECRET_KEY", "SERVER_NAME", "MAX_CONTENT_LENGTH"):
        assert DEFAULT_CONFIG[key] is None


def test_from_mapping_keeps_uppercase_keys_only() -> None:
    config = Config("/")
    config.from_mapping({"A": 1, "b": 2}, C=3, d=4)
    assert config == {"A": 1, "C": 3}


def test_from_object_reads_uppercase_attributes_of_a_class() -> None:
    class Settings:
        SECRET_KEY = "k"
        lower = "ignored"

    config = Config("/")
    config.from_object(Settings)
    assert config == {"SECRET_KEY": "k"}


def test_from_object_imports_a_dotted_path(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("cfgmod_for_test")
    module.VALUE = 42  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cfgmod_for_test", module)
    config = Config("/")
    config.from_object("cfgmod_for_test")
    assert config["VALUE"] == 42


def test_import_string_resolves_module_attribute_with_dot_or_colon() -> None:
    assert import_string("os.path:join") is import_string("os.path.join")


def test_import_string_names_the_missing_attribute() -> None:
    with pytest.raises(ImportError, match="no attribute 'nope'"):
        import_string("os.nope")


def test_from_pyfile_is_relative_to_root_path(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text("DEBUG = True\nhelper = 1\n")
    config = Config(tmp_path)
    assert config.from_pyfile("settings.py") is True
    assert config == {"DEBUG": True}


def test_from_pyfile_silent_ignores_missing_file(tmp_path: Path) -> None:
    assert Config(tmp_path).from_pyfile("missing.py", silent=True) is False


def test_from_pyfile_missing_file_error_says_what_failed(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="Unable to load configuration file"):
        Config(tmp_path).from_pyfile("missing.py")


def test_from_file_uses_given_loader(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"PORT": 8000, "lower": 1}')
    config = Config(tmp_path)
    assert config.from_file("c.json", load=json.load)
    assert config == {"PORT": 8000}


def test_from_envvar_loads_file_named_by_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "s.py").write_text("NAME = 'x'\n")
    monkeypatch.setenv("MY_SETTINGS", str(tmp_path / "s.py"))
    config = Config("/")
    assert config.from_envvar("MY_SETTINGS")
    assert config["NAME"] == "x"


def test_from_envvar_unset_variable_explains_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_SETTINGS", raising=False)
    assert Config("/").from_envvar("MY_SETTINGS", silent=True) is False
    with pytest.raises(RuntimeError, match="'MY_SETTINGS' is not set"):
        Config("/").from_envvar("MY_SETTINGS")


def test_from_prefixed_env_parses_json_and_keeps_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("TREADLE_")]:
        monkeypatch.delenv(name)  # the machine's own (TREADLE_FT_PYTHON for .ci/run, ...)
    monkeypatch.setenv("TREADLE_PORT", "8080")
    monkeypatch.setenv("TREADLE_FLAG", "true")
    monkeypatch.setenv("TREADLE_NAME", "plain text")
    monkeypatch.setenv("OTHER_THING", "1")
    config = Config("/")
    config.from_prefixed_env()
    assert config == {"PORT": 8080, "FLAG": True, "NAME": "plain text"}


def test_from_prefixed_env_double_underscore_nests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DB__HOST", '"db"')
    monkeypatch.setenv("APP_DB__OPTS__SIZE", "5")
    config = Config("/", {"DB": {"PORT": 1}})
    config.from_prefixed_env("APP")
    assert config["DB"] == {"PORT": 1, "HOST": "db", "OPTS": {"SIZE": 5}}


def test_get_namespace_trims_and_lowercases() -> None:
    config = Config("/", {"IMAGE_STORE_TYPE": "fs", "IMAGE_STORE_PATH": "/p", "OTHER": 1})
    assert config.get_namespace("IMAGE_STORE_") == {"type": "fs", "path": "/p"}
    assert config.get_namespace("IMAGE_STORE_", lowercase=False, trim_namespace=False) == {
        "IMAGE_STORE_TYPE": "fs",
        "IMAGE_STORE_PATH": "/p",
    }
