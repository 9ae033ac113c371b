"""The lock-out's rules without HTTP (media/sessions.py, media/throttling.py, catalog/throttles.py),
on SQLite and PostgreSQL: who gets locked out, from where, for how long, and counting that
concurrent failures cannot race past."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from darkroom import catalog
from darkroom.catalog import throttles
from darkroom.errors import TooManyAttempts
from darkroom.media import sessions, throttling

PASSWORD = "correct horse battery"
ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[catalog.Engine]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    engine = catalog.create_engine_for(url)
    catalog.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def user(engine: catalog.Engine) -> str:
    name = f"ada{secrets.token_hex(4)}"  # PostgreSQL runs share one database
    sessions.create_user(engine, name, PASSWORD)
    return name


def _fail(engine: catalog.Engine, user: str, client: str, times: int, now: object) -> None:
    for _ in range(times):
        with pytest.raises(sessions.LoginFailed):
            sessions.authenticate(engine, user, "wrong password", client=client, now=now)  # type: ignore[arg-type]


def test_an_attacker_cannot_lock_the_owner_out_from_the_owners_address(engine: catalog.Engine, user: str) -> None:
    now = sessions.utcnow()
    _fail(engine, user, ATTACKER, sessions.MAX_FAILURES, now)
    with pytest.raises(sessions.AccountLocked):  # the attacker's address is locked, even with the right password
        sessions.authenticate(engine, user, PASSWORD, client=ATTACKER, now=now)
    assert sessions.authenticate(engine, user, PASSWORD, client=OWNER, now=now) == user
    # The owner's success does not free the attacker's address.
    with pytest.raises(sessions.AccountLocked):
        sessions.authenticate(engine, user, PASSWORD, client=ATTACKER, now=now + timedelta(seconds=1))
    assert [lock.client for lock in sessions.user_locks(engine, user, now=now)] == [ATTACKER]


def test_each_round_of_failures_locks_twice_as_long(engine: catalog.Engine, user: str) -> None:
    now = sessions.utcnow()
    first = timedelta(seconds=sessions.LOCK_SECONDS)
    for lock in (first, 2 * first, 4 * first):
        _fail(engine, user, ATTACKER, sessions.MAX_FAILURES, now)
        [running] = sessions.user_locks(engine, user, now=now)
        assert running.until - now == lock
        with pytest.raises(sessions.AccountLocked):  # locked attempts are not even checked, nor counted
            sessions.authenticate(engine, user, "wrong password", client=ATTACKER, now=now + lock - timedelta(seconds=1))
        now += lock + timedelta(seconds=1)
    assert sessions.authenticate(engine, user, PASSWORD, client=ATTACKER, now=now) == user
    _fail(engine, user, ATTACKER, sessions.MAX_FAILURES, now)  # a success starts the back-off over
    [running] = sessions.user_locks(engine, user, now=now)
    assert running.until - now == first


def test_many_addresses_lock_the_user_everywhere_but_briefly(engine: catalog.Engine, user: str) -> None:
    now = sessions.utcnow()
    rule = throttling.SIGN_IN_ANY_CLIENT
    per_address = sessions.MAX_FAILURES - 1  # each address stays under its own lock
    addresses = [f"203.0.113.{i}" for i in range(-(-rule.threshold // per_address))]
    failures = 0
    for address in addresses:
        take = min(per_address, rule.threshold - failures)
        _fail(engine, user, address, take, now)
        failures += take
    with pytest.raises(sessions.AccountLocked):
        sessions.authenticate(engine, user, PASSWORD, client=OWNER, now=now)
    assert "*" in [lock.client for lock in sessions.user_locks(engine, user, now=now)]
    later = now + rule.first_lock + timedelta(seconds=1)
    assert sessions.authenticate(engine, user, PASSWORD, client=OWNER, now=later) == user


def test_one_address_guessing_many_users_is_locked_out_of_all(engine: catalog.Engine) -> None:
    now = sessions.utcnow()
    client = f"192.0.2.{secrets.randbelow(250)}"
    rule = throttling.SIGN_INS_FROM_CLIENT
    for i in range(rule.threshold):
        with pytest.raises(sessions.LoginFailed):
            sessions.authenticate(engine, f"nobody{secrets.token_hex(4)}{i}", "guess", client=client, now=now)
    with pytest.raises(sessions.AccountLocked):
        sessions.authenticate(engine, "nobody", "guess", client=client, now=now)


def test_unlock_and_new_password_clear_every_lock_of_the_user(engine: catalog.Engine, user: str) -> None:
    now = sessions.utcnow()
    _fail(engine, user, ATTACKER, sessions.MAX_FAILURES, now)
    sessions.unlock_user(engine, user)
    assert sessions.user_locks(engine, user, now=now) == []
    _fail(engine, user, OWNER, sessions.MAX_FAILURES, now)
    sessions.set_password(engine, user, "another long password")
    assert sessions.authenticate(engine, user, "another long password", client=OWNER, now=now) == user


def test_concurrent_failures_each_get_a_count_of_their_own(engine: catalog.Engine) -> None:
    key = throttles.ThrottleKey("test", secrets.token_hex(4), ATTACKER)
    now = sessions.utcnow()
    counts: list[int] = []
    start = threading.Barrier(20)

    def fail() -> None:
        start.wait(timeout=30)
        for _ in range(5):
            counts.append(throttles.count_failure(engine, key, now))

    threads = [threading.Thread(target=fail) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(counts) == list(range(1, 101))


def test_bearer_failures_lock_the_address_alone(engine: catalog.Engine) -> None:
    now = sessions.utcnow()
    rule = throttling.BEARER_FROM_CLIENT
    for _ in range(rule.threshold):
        throttling.unknown_token(engine, "media", ATTACKER, now)  # each answered 401 by the caller
    with pytest.raises(TooManyAttempts) as refused:
        throttling.unknown_token(engine, "media", ATTACKER, now)
    assert refused.value.retry_after == int(rule.first_lock.total_seconds()) + 1
    throttling.unknown_token(engine, "media", OWNER, now)  # another address: not locked
    throttling.unknown_token(engine, "sign", ATTACKER, now)  # another endpoint's tokens: a count of their own
    throttling.unknown_token(engine, "media", ATTACKER, now + rule.first_lock + timedelta(seconds=1))


def test_lock_durations_double_up_to_their_cap() -> None:
    rule = throttling.Rule("test", 5, timedelta(minutes=1), timedelta(minutes=10))
    assert [rule.lock_after(n) for n in (1, 4, 6)] == [None, None, None]
    assert [rule.lock_after(n) for n in (5, 10, 15, 20, 25)] == [timedelta(minutes=m) for m in (1, 2, 4, 8, 10)]
    assert rule.lock_after(5 * 10**6) == timedelta(minutes=10)


def test_concurrent_guesses_get_no_more_password_checks_than_one_round(engine: catalog.Engine, user: str) -> None:
    """Each attempt is counted before its (slow) password check: of 20 guesses at once from one
    address, only the round's 5 are checked; the rest are refused unchecked."""
    outcomes: list[str] = []
    start = threading.Barrier(20)

    def guess() -> None:
        start.wait(timeout=30)
        try:
            sessions.authenticate(engine, user, "wrong guess", client=ATTACKER)
        except sessions.AccountLocked:
            outcomes.append("locked")
        except sessions.LoginFailed:
            outcomes.append("checked")

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == 20
    assert outcomes.count("checked") <= throttling.SIGN_IN_FROM_CLIENT.threshold, sorted(outcomes)
    with pytest.raises(sessions.AccountLocked):
        sessions.authenticate(engine, user, PASSWORD, client=ATTACKER)
    assert sessions.authenticate(engine, user, PASSWORD, client=OWNER) == user  # the owner, elsewhere, is not locked out
