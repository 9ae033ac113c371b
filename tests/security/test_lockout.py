"""The console's lock-out under attack, through the real sign-in form of a live server.

Five wrong passwords in a row lock an account. An attacker who sends many at once must not
get more guesses than someone sending them one by one: every failure counts, whatever
the interleaving, and the account ends locked.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest
from support import LiveServer, own_sqlite_server

from tests.security.conftest import TIMEOUT

PASSWORD = "correct-horse-battery-staple"
ATTEMPTS = 40


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own: lock-outs here must not lock other tests out of their console."""
    yield from own_sqlite_server(tmp_path_factory, "darkroom-lockout")


def _darkroom(server: LiveServer, *args: str, stdin: str = "") -> str:
    env = {**server.env(), "DARKROOM_DATABASE_URL": server.database_url}
    return subprocess.run(
        [sys.executable, "-m", "darkroom", *args, "--data-dir", str(server.data_dir)],
        env=env, input=stdin, check=True, capture_output=True, text=True, timeout=60,
    ).stdout


def _new_user(server: LiveServer) -> str:
    name = f"op{secrets.token_hex(4)}"
    _darkroom(server, "users", "create", name, "--password-stdin", stdin=PASSWORD + "\n")
    return name


def _is_locked(server: LiveServer, name: str) -> bool:
    line = next(line for line in _darkroom(server, "users", "list").splitlines() if line.split("\t")[0] == name)
    return "locked until" in line


class SignInForm:
    """One browser's sign-in: its own cookies, the form's CSRF token, then one POST."""

    def __init__(self, server: LiveServer) -> None:
        self.client = httpx.Client(base_url=server.base_url, timeout=TIMEOUT)
        page = self.client.get("/console/login")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and match, page.text[:300]
        self.token = match.group(1)

    def submit(self, username: str, password: str) -> int:
        try:
            response = self.client.post(
                "/console/login", data={"username": username, "password": password, "csrf_token": self.token, "next": "/console"}
            )
            return response.status_code
        finally:
            self.client.close()


def test_five_wrong_passwords_in_a_row_lock_the_account(console_server: LiveServer) -> None:
    """The control: sequential attempts lock, and then even the right password is refused."""
    name = _new_user(console_server)
    statuses = [SignInForm(console_server).submit(name, f"wrong-{i}") for i in range(5)]
    assert statuses == [401] * 5
    assert _is_locked(console_server, name)
    assert SignInForm(console_server).submit(name, PASSWORD) == 429


def test_concurrent_wrong_passwords_lock_the_account(console_server: LiveServer) -> None:
    name = _new_user(console_server)
    forms = [SignInForm(console_server) for _ in range(ATTEMPTS)]  # every form loaded first
    start = threading.Barrier(ATTEMPTS)
    statuses: list[int] = []

    def attempt(form: SignInForm, i: int) -> None:
        start.wait(timeout=TIMEOUT)
        statuses.append(form.submit(name, f"wrong-{i}"))

    threads = [threading.Thread(target=attempt, args=(form, i)) for i, form in enumerate(forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)
    assert len(statuses) == ATTEMPTS, "a sign-in hung"
    assert set(statuses) <= {401, 429}, sorted(statuses)
    # Consistent counting: 40 failures are at least the five that lock, whatever the
    # interleaving; the account is locked and the right password is refused.
    assert _is_locked(console_server, name), f"unlocked after {ATTEMPTS} concurrent failures: {sorted(statuses)}"
    assert SignInForm(console_server).submit(name, PASSWORD) == 429
