"""Password hashes: salted, verifiable, and never accepting a wrong or malformed value."""

from __future__ import annotations

from notes.passwords import check_password, hash_password


def test_hash_verifies_the_same_password() -> None:
    assert check_password(hash_password("hunter2hunter2"), "hunter2hunter2")


def test_hash_rejects_another_password() -> None:
    assert not check_password(hash_password("hunter2hunter2"), "hunter3hunter3")


def test_same_password_hashes_differently_each_time() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_malformed_stored_hash_never_matches() -> None:
    for stored in ("", "plain", "md5:1:1:1$00$00", "scrypt:3:8:1$00$00", "scrypt:x:8:1$zz$00"):
        assert not check_password(stored, "anything")
