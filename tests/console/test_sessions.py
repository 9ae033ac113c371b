"""Operators, passwords, lock-out, sessions and CSRF (media/sessions.py, catalog/users.py, auth/passwords.py, auth/cookies.py), without HTTP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from darkroom import catalog
from darkroom.media import sessions
from darkroom.catalog.schema import console_users
from darkroom.errors import Conflict, Invalid


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = catalog.create_engine_for(f"sqlite:///{tmp_path / 'db.sqlite'}")
    catalog.migrate(engine)
    yield engine
    engine.dispose()


def test_passwords_are_stored_as_argon2id_hashes(engine) -> None:  # type: ignore[no-untyped-def]
    sessions.create_user(engine, "ada", "correct horse battery")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(console_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert sessions.authenticate(engine, "ada", "correct horse battery") == "ada"


def test_short_passwords_and_duplicate_users_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid):
        sessions.create_user(engine, "ada", "short")
    sessions.create_user(engine, "ada", "correct horse battery")
    with pytest.raises(Conflict):
        sessions.create_user(engine, "ada", "another long one")


def test_wrong_password_and_unknown_user_fail_alike(engine) -> None:  # type: ignore[no-untyped-def]
    sessions.create_user(engine, "ada", "correct horse battery")
    with pytest.raises(sessions.LoginFailed) as wrong:
        sessions.authenticate(engine, "ada", "nope nope nope")
    with pytest.raises(sessions.LoginFailed) as unknown:
        sessions.authenticate(engine, "bob", "nope nope nope")
    assert wrong.value.message == unknown.value.message


def test_repeated_failures_lock_the_account_until_the_lock_expires(engine) -> None:  # type: ignore[no-untyped-def]
    sessions.create_user(engine, "ada", "correct horse battery")
    now = sessions.utcnow()
    for _ in range(sessions.MAX_FAILURES):
        with pytest.raises(sessions.LoginFailed):
            sessions.authenticate(engine, "ada", "wrong password", now=now)
    with pytest.raises(sessions.AccountLocked):
        sessions.authenticate(engine, "ada", "correct horse battery", now=now)
    later = now + timedelta(seconds=sessions.LOCK_SECONDS + 1)
    assert sessions.authenticate(engine, "ada", "correct horse battery", now=later) == "ada"


def test_unlock_and_set_password_clear_the_lock(engine) -> None:  # type: ignore[no-untyped-def]
    sessions.create_user(engine, "ada", "correct horse battery")
    for _ in range(sessions.MAX_FAILURES):
        with pytest.raises(sessions.LoginFailed):
            sessions.authenticate(engine, "ada", "wrong password")
    sessions.unlock_user(engine, "ada")
    assert sessions.authenticate(engine, "ada", "correct horse battery") == "ada"


def test_sessions_end_on_sign_out_and_cookies_are_tamper_proof(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sessions.create_user(engine, "ada", "correct horse battery")
    auth = sessions.ConsoleAuth(engine, sessions.load_session_key("", tmp_path))
    cookie = auth.start_session("ada")
    session_id = auth.session_id(cookie)
    assert session_id and auth.session_user(session_id) == "ada"
    assert auth.session_id(cookie[:-2] + "xx") is None
    other = sessions.ConsoleAuth(engine, "another key")
    assert other.session_id(cookie) is None
    auth.end_session(session_id)
    assert auth.session_user(session_id) is None


def test_csrf_token_is_bound_to_the_session(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sessions.create_user(engine, "ada", "correct horse battery")
    auth = sessions.ConsoleAuth(engine, "key")
    first = auth.session_id(auth.start_session("ada"))
    second = auth.session_id(auth.start_session("ada"))
    assert first and second
    assert auth.csrf_ok(first, auth.csrf_token(first))
    assert not auth.csrf_ok(first, auth.csrf_token(second))
    assert not auth.csrf_ok(first, "")


def test_session_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = sessions.load_session_key("", tmp_path)
    assert sessions.load_session_key("", tmp_path) == first and len(first) > 40
    assert sessions.load_session_key("configured", tmp_path) == "configured"


def test_access_tokens_are_scoped_hashed_and_revocable(engine) -> None:  # type: ignore[no-untyped-def]
    token, text = sessions.create_access_token(engine, "media", "cms")
    assert sessions.find_access_token(engine, text, "media") is not None
    assert sessions.find_access_token(engine, text, "admin") is None
    assert text not in str(sessions.list_access_tokens(engine))
    sessions.revoke_access_token(engine, token.id)
    assert sessions.find_access_token(engine, text, "media") is None


def test_the_session_key_is_made_once_by_processes_starting_together(tmp_path: Path) -> None:
    """Every starter links its own finished candidate: all read one key, never an empty file."""
    from concurrent.futures import ThreadPoolExecutor

    from darkroom.media.sessions import load_session_key

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: load_session_key("", tmp_path), range(16)))
    assert len(keys) == 1 and len(keys.pop()) > 40
    assert sorted(path.name for path in tmp_path.iterdir()) == ["session.key"]  # no candidate left behind
