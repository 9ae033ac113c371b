"""Throttling guessers: failed attempts counted per key, and locks that grow with each round.

A rule says how many failures on one key lock it (`threshold`), for how long the first time
(`first_lock`), and the most a lock may last (`max_lock`): every further `threshold`
failures double the lock. A success clears the keys its caller chooses. Failures are counted
atomically in the catalog (`catalog.throttles`), so concurrent guesses each count.

The keys each caller uses, and why, are in docs/console.md ("Lock-out"):

| rule | key | threshold | locks |
|---|---|---|---|
| `SIGN_IN_FROM_CLIENT` | (user, client address) | 5 | 15 min, doubling, at most 24 h |
| `SIGN_IN_ANY_CLIENT` | (user, every address) | 50 | 30 s, doubling, at most 10 min |
| `SIGN_INS_FROM_CLIENT` | (any user, client address) | 50 | 1 min, doubling, at most 1 h |
| `BEARER_FROM_CLIENT` | (token scope, client address) | 10 | 1 min, doubling, at most 1 h |
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from darkroom.catalog import Engine, throttles
from darkroom.catalog.throttles import ThrottleKey
from darkroom.errors import TooManyAttempts

__all__ = [
    "ANY_CLIENT",
    "BEARER_FROM_CLIENT",
    "SIGN_INS_FROM_CLIENT",
    "SIGN_IN_ANY_CLIENT",
    "SIGN_IN_FROM_CLIENT",
    "Rule",
    "ThrottleKey",
    "clear",
    "count_failure",
    "locked_until",
    "unknown_token",
]

ANY_CLIENT = "*"  # the client of a key that counts failures from every address
MAX_DOUBLINGS = 20  # beyond this the cap has long been reached; keeps 2**n small


@dataclass(frozen=True)
class Rule:
    kind: str
    threshold: int  # failures on one key per lock
    first_lock: timedelta
    max_lock: timedelta

    def key(self, subject: str, client: str) -> ThrottleKey:
        return ThrottleKey(self.kind, subject, client)

    def lock_after(self, failures: int) -> timedelta | None:
        """How long `failures` failures lock the key: only every `threshold`-th failure locks."""
        if failures < self.threshold or failures % self.threshold:
            return None
        doublings = min(failures // self.threshold - 1, MAX_DOUBLINGS)
        return min(self.first_lock * (1 << doublings), self.max_lock)


# Sign-ins share one kind so that a user's locks (from one address or all) list and clear together.
SIGN_IN_FROM_CLIENT = Rule("sign-in", 5, timedelta(minutes=15), timedelta(hours=24))
SIGN_IN_ANY_CLIENT = Rule("sign-in", 50, timedelta(seconds=30), timedelta(minutes=10))
SIGN_INS_FROM_CLIENT = Rule("sign-in-client", 50, timedelta(minutes=1), timedelta(hours=1))
BEARER_FROM_CLIENT = Rule("bearer", 10, timedelta(minutes=1), timedelta(hours=1))


def locked_until(engine: Engine, keys: Iterable[ThrottleKey], now: datetime) -> datetime | None:
    """When the latest running lock on any of the keys ends; None when none is locked."""
    return throttles.active_lock(engine, keys, now)


def count_failure(engine: Engine, rule: Rule, key: ThrottleKey, now: datetime) -> bool:
    """One more failure on the key; the failure that completes a round locks it (in the same
    transaction). True when the key was already locked before this failure was counted."""
    _failures, locked_before = throttles.count_and_lock(engine, key, now, rule.lock_after)
    return locked_before is not None and locked_before > now


def clear(engine: Engine, keys: Iterable[ThrottleKey]) -> None:
    throttles.clear(engine, keys)


# --- bearer tokens --------------------------------------------------------------------------
# A token is 32 random bytes: nobody guesses one, so a valid token is admitted even from an
# address that is locked out (else anyone sharing an address with the real caller, or every
# caller behind an untrusted proxy, could lock it out with 10 bad tokens). What the throttle
# does is answer a guesser 429 with Retry-After, ever longer, instead of 401. A success does
# not reset the count (that would be a write per request): stray failures are forgotten after
# a quiet day (`catalog.throttles.FORGET_AFTER`).


def unknown_token(engine: Engine, scope: str, client: str, now: datetime) -> None:
    """Count an unknown token from `client` for `scope`'s tokens ("media", "sign"); raises
    TooManyAttempts when the address was already locked out, else the caller answers 401."""
    key = BEARER_FROM_CLIENT.key(scope, client)
    until = locked_until(engine, (key,), now)
    count_failure(engine, BEARER_FROM_CLIENT, key, now)  # a guesser who keeps on gets longer locks
    if until is not None:
        raise TooManyAttempts("Too many unknown tokens from this address; try again later", retry_after=_seconds_until(until, now))


def _seconds_until(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds()) + 1)
