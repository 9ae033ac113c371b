"""Checking an API key and its secret: one check, worded the way each Cloudinary API words it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from darkroom.api.errors import status_for
from darkroom.auth import (
    ADMIN_API_REFUSALS,
    UPLOAD_API_REFUSALS,
    KeyRefusals,
    UnknownApiKey,
    any_secret_equal,
    usable_key,
    verify_basic_auth,
)


@dataclass(frozen=True)
class Key:
    cloud: str = "demo"
    active: bool = True
    api_secret: str = "s3cret"


@pytest.mark.parametrize(
    ("credentials", "key", "refusals", "message"),
    [
        (None, None, ADMIN_API_REFUSALS, "Must supply api_key"),
        (("", "s3cret"), None, ADMIN_API_REFUSALS, "Must supply api_key"),
        (("123", "s3cret"), None, ADMIN_API_REFUSALS, "Invalid api_key 123"),
        (("123", "s3cret"), Key(active=False), ADMIN_API_REFUSALS, "Invalid api_key 123"),
        (("123", "s3cret"), Key(cloud="other"), ADMIN_API_REFUSALS, "Invalid api_key 123"),
        (("123", "wrong"), Key(), ADMIN_API_REFUSALS, "api_secret mismatch"),
        (("123", "s3cret"), None, UPLOAD_API_REFUSALS, "Unknown API key 123"),
        (("123", "s3cret"), Key(active=False), UPLOAD_API_REFUSALS, "Unknown API key 123"),
        (("123", "wrong"), Key(), UPLOAD_API_REFUSALS, "Invalid credentials"),
    ],
)
def test_basic_auth_refusals_are_401s_in_each_apis_words(
    credentials: tuple[str, str] | None, key: Key | None, refusals: KeyRefusals, message: str
) -> None:
    with pytest.raises(UnknownApiKey) as refused:
        verify_basic_auth(credentials, key, "demo", refusals)
    assert refused.value.message == message and status_for(refused.value) == 401


def test_basic_auth_with_the_right_secret_gives_the_key() -> None:
    key = Key()
    assert verify_basic_auth(("123", "s3cret"), key, "demo", ADMIN_API_REFUSALS) is key


def test_a_usable_key_needs_no_secret_here() -> None:
    """Signed requests check the key first, then the signature made with its secret."""
    key = Key()
    assert usable_key("123", key, "demo", UPLOAD_API_REFUSALS) is key
    with pytest.raises(UnknownApiKey, match="^Must supply api_key$"):
        usable_key("", key, "demo", UPLOAD_API_REFUSALS)


def test_any_secret_equal_compares_with_every_candidate_even_after_a_match() -> None:
    tried: list[str] = []

    def candidates() -> Iterator[str]:
        for candidate in ("right", "other", "third"):
            tried.append(candidate)
            yield candidate

    assert any_secret_equal("right", candidates())
    assert tried == ["right", "other", "third"]  # an early exit would time-reveal which one matched
    assert not any_secret_equal("wrong", ["right", "other"])
    assert not any_secret_equal("right", [])


def test_csrf_and_sign_in_tokens_with_any_characters_are_refused_not_crashed() -> None:
    """hmac.compare_digest raises on non-ASCII str: a client posting `csrf_token=é` got a 500."""
    from darkroom.auth.cookies import SessionSigner

    signer = SessionSigner("k" * 32)
    cookie, _token = signer.login_nonce()
    assert signer.csrf_ok("session-id", "é") is False
    assert signer.login_nonce_ok(cookie, "日本") is False
    assert signer.csrf_ok("session-id", signer.csrf_token("session-id")) is True
