"""The PIN: derivation, env override, cookie signing and expiry, lockout; and the host check."""

from __future__ import annotations

import re

import pytest

from treadle.dev.debugger.hosts import host_is_trusted
from treadle.dev.debugger.pin import (
    COOKIE_MAX_AGE,
    MAX_FAILED_ATTEMPTS,
    PIN_ENV,
    DebugPin,
    PinGuard,
    pin_for_app,
)


def app_one(environ: object, start_response: object) -> list[bytes]:
    return []


def app_two(environ: object, start_response: object) -> list[bytes]:
    return []


def guard(pin: str = "123-456-789") -> PinGuard:
    return PinGuard(DebugPin(pin, "__tdbgtest", b"k" * 32))


def test_pin_is_nine_digits_in_three_groups() -> None:
    assert re.fullmatch(r"\d{3}-\d{3}-\d{3}", pin_for_app(app_one, {}).value or "")


def test_pin_is_stable_for_the_same_app() -> None:
    assert pin_for_app(app_one, {}) == pin_for_app(app_one, {})


def test_pin_differs_between_apps() -> None:
    assert pin_for_app(app_one, {}).value != pin_for_app(app_two, {}).value


def test_env_sets_the_pin() -> None:
    assert pin_for_app(app_one, {PIN_ENV: "555-444-333"}).value == "555-444-333"


def test_env_digits_without_dashes_are_grouped() -> None:
    assert pin_for_app(app_one, {PIN_ENV: "555444333"}).value == "555-444-333"


def test_env_off_disables_the_pin() -> None:
    assert pin_for_app(app_one, {PIN_ENV: "off"}).value is None


def test_env_nonsense_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=f"{PIN_ENV}='letmein' is not a PIN"):
        pin_for_app(app_one, {PIN_ENV: "letmein"})


def test_cookie_name_and_key_change_with_the_pin() -> None:
    one, two = pin_for_app(app_one, {PIN_ENV: "111-111-111"}), pin_for_app(app_one, {PIN_ENV: "222-222-222"})
    assert one.cookie_name != two.cookie_name and one.cookie_key != two.cookie_key


def test_right_pin_passes_with_or_without_dashes() -> None:
    assert guard().attempt("123-456-789") and guard().attempt(" 123456789 ")


def test_wrong_pin_counts_a_failure() -> None:
    pins = guard()
    assert not pins.attempt("000-000-000")
    assert pins.failures == 1


def test_right_pin_resets_failures() -> None:
    pins = guard()
    pins.attempt("0")
    pins.attempt("123-456-789")
    assert pins.failures == 0


def test_lockout_after_max_failures_refuses_right_pin() -> None:
    pins = guard()
    for _ in range(MAX_FAILED_ATTEMPTS):
        pins.attempt("0")
    assert pins.locked
    assert not pins.attempt("123-456-789")
    assert pins.failures == MAX_FAILED_ATTEMPTS


def test_fresh_cookie_is_valid() -> None:
    pins = guard()
    assert pins.cookie_is_valid(pins.make_cookie(now=1000), now=1000 + 60)


def test_cookie_expires_after_max_age() -> None:
    pins = guard()
    assert not pins.cookie_is_valid(pins.make_cookie(now=1000), now=1001 + COOKIE_MAX_AGE)


def test_cookie_from_the_future_is_refused() -> None:
    pins = guard()
    assert not pins.cookie_is_valid(pins.make_cookie(now=5000), now=1000)


def test_cookie_with_changed_timestamp_is_refused() -> None:
    pins = guard()
    signature = pins.make_cookie(now=1000).partition("|")[2]
    assert not pins.cookie_is_valid(f"2000|{signature}", now=2000)


@pytest.mark.parametrize("value", [None, "", "garbage", "1000|", "|abc", "1000|é"])
def test_malformed_cookie_is_refused(value: str | None) -> None:
    assert not guard().cookie_is_valid(value, now=1000)


def test_cookie_signed_for_another_pin_is_refused() -> None:
    other = PinGuard(DebugPin("999-999-999", "__tdbgtest", b"x" * 32))
    assert not guard().cookie_is_valid(other.make_cookie(now=1000), now=1000)


def test_disabled_pin_trusts_everyone() -> None:
    pins = guard(pin=None)  # type: ignore[arg-type]
    assert pins.attempt("anything") and pins.cookie_is_valid(None)


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST:5000", "127.0.0.1", "127.0.0.1:80", "127.8.9.1", "[::1]", "[::1]:5000",
     "app.localhost", "app.localhost.:3000"],
)
def test_local_hosts_are_trusted(host: str) -> None:
    assert host_is_trusted(host)


@pytest.mark.parametrize(
    "host", [None, "", "evil.example", "localhost.evil.example", "10.0.0.1", "[::2]", "0.0.0.0"]
)
def test_other_hosts_are_not_trusted(host: str | None) -> None:
    assert not host_is_trusted(host)


def test_trusted_host_entry_matches_exactly() -> None:
    assert host_is_trusted("box.lan:8000", ["box.lan"])
    assert not host_is_trusted("sub.box.lan", ["box.lan"])


def test_trusted_host_with_leading_dot_matches_subdomains() -> None:
    assert host_is_trusted("a.dev.test", [".dev.test"]) and host_is_trusted("dev.test", [".dev.test"])
    assert not host_is_trusted("evildev.test", [".dev.test"])
