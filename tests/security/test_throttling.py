"""Guessing through live servers: sign-ins and bearer tokens throttled per client address,
and `DARKROOM_TRUSTED_PROXIES` deciding whose word on the client address and scheme counts.

`proxied` trusts 127.0.0.1 as a proxy, so each test plays clients from other addresses with
`X-Forwarded-For`; `direct` trusts nobody, so those headers must change nothing there.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import LiveServer, access_token, own_sqlite_server

from darkroom.auth.signing import sign_params
from darkroom.media.throttling import BEARER_FROM_CLIENT
from tests.security.conftest import TIMEOUT

PASSWORD = "correct-horse-battery-staple"
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f0c2"
    "a40000000049454e44ae426082"
)


def _server(tmp_path_factory: pytest.TempPathFactory, name: str, extra_env: dict[str, str]) -> Iterator[LiveServer]:
    yield from own_sqlite_server(tmp_path_factory, name, extra_env=extra_env, args=("--log-level", "info"))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from _server(tmp_path_factory, "darkroom-proxied", {"DARKROOM_TRUSTED_PROXIES": "127.0.0.1/32, ::1/128"})


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from _server(tmp_path_factory, "darkroom-direct", {})


def _new_user(server: LiveServer) -> str:
    name = f"op{secrets.token_hex(4)}"
    env = {**server.env(), "DARKROOM_DATABASE_URL": server.database_url}
    subprocess.run(
        [sys.executable, "-m", "darkroom", "users", "create", name, "--password-stdin", "--data-dir", str(server.data_dir)],
        env=env, input=PASSWORD + "\n", check=True, capture_output=True, text=True, timeout=60,
    )
    return name


def _sign_in(server: LiveServer, name: str, password: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """One browser's sign-in from the address (and scheme) the headers claim."""
    with httpx.Client(base_url=server.base_url, timeout=TIMEOUT, headers=headers or {}) as client:
        page = client.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token
        return client.post("/console/login", data={"username": name, "password": password, "csrf_token": token.group(1), "next": "/console"})


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_an_attacker_elsewhere_cannot_keep_the_owner_locked_out(proxied: LiveServer) -> None:
    name = _new_user(proxied)
    attacker = _from("203.0.113.9")
    assert [_sign_in(proxied, name, f"guess-{i}", attacker).status_code for i in range(5)] == [401] * 5
    assert _sign_in(proxied, name, PASSWORD, attacker).status_code == 429  # the attacker's address is locked
    assert _sign_in(proxied, name, PASSWORD, _from("198.51.100.4")).status_code == 303  # the owner signs in


def test_forwarded_for_from_an_untrusted_peer_is_ignored(direct: LiveServer) -> None:
    name = _new_user(direct)
    # Each guess claims another address; the server counts them all against the real peer.
    statuses = [_sign_in(direct, name, f"guess-{i}", _from(f"203.0.113.{i}")).status_code for i in range(5)]
    assert statuses == [401] * 5
    assert _sign_in(direct, name, PASSWORD, _from("198.51.100.4")).status_code == 429


def test_the_access_log_names_the_client_behind_a_trusted_proxy_only(proxied: LiveServer, direct: LiveServer) -> None:
    for server in (proxied, direct):
        httpx.get(f"{server.base_url}/health?who", headers={"X-Forwarded-For": "192.0.2.77, 203.0.113.50"}, timeout=TIMEOUT)
    time.sleep(0.5)
    assert re.search(r" 203\.0\.113\.50 GET /health", _log(proxied))  # the right-most untrusted hop, not what the client wrote first
    assert "192.0.2.77" not in _log(proxied)
    assert "203.0.113.50" not in _log(direct) and re.search(r" 127\.0\.0\.1 GET /health", _log(direct))


def _log(server: LiveServer) -> str:
    return Path(server.data_dir / "server.log").read_text(errors="replace")


def _cookies_set(server: LiveServer, name: str, headers: dict[str, str]) -> list[str]:
    """The Set-Cookie headers of the sign-in form and of signing in, as a browser on the
    scheme the headers claim would see them (it sends its Secure cookies back over https)."""
    with httpx.Client(base_url=server.base_url, timeout=TIMEOUT, headers=headers) as client:
        page = client.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token
        login_cookie = page.headers["set-cookie"].partition(";")[0]
        signed_in = client.post(
            "/console/login", data={"username": name, "password": PASSWORD, "csrf_token": token.group(1)},
            headers={"Cookie": login_cookie},
        )
        assert signed_in.status_code == 303, signed_in.text[:300]
        return [page.headers["set-cookie"], *signed_in.headers.get_list("set-cookie")]


def _secure(cookie: str) -> bool:
    return "; secure" in cookie.lower()


def test_cookies_are_secure_when_a_trusted_proxy_says_https(proxied: LiveServer, direct: LiveServer) -> None:
    https = {"X-Forwarded-Proto": "https"}
    name = _new_user(proxied)
    set_behind_tls = [c for c in _cookies_set(proxied, name, https) if "Max-Age=0" not in c]
    assert any("darkroom_session=" in cookie for cookie in set_behind_tls)
    assert all(_secure(cookie) for cookie in set_behind_tls)
    assert not any(_secure(cookie) for cookie in _cookies_set(proxied, name, {}))
    other = _new_user(direct)
    assert not any(_secure(cookie) for cookie in _cookies_set(direct, other, https))


def _upload(server: LiveServer, headers: dict[str, str]) -> dict[str, object]:
    params = {"timestamp": str(int(time.time())), "public_id": f"proto{secrets.token_hex(4)}"}
    form = {**params, "api_key": server.api_key, "signature": sign_params(params, server.api_secret)}
    response = httpx.post(
        f"{server.base_url}/v1_1/{server.cloud}/image/upload", data=form,
        files={"file": ("a.png", PNG_1X1, "image/png")}, headers=headers, timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_url_scheme_follows_a_trusted_proxy_only(proxied: LiveServer, direct: LiveServer) -> None:
    https = {"X-Forwarded-Proto": "https"}
    assert str(_upload(proxied, https)["url"]).startswith("https://")
    assert str(_upload(proxied, {})["url"]).startswith("http://")
    assert str(_upload(direct, https)["url"]).startswith("http://")


def test_guessing_signing_tokens_is_throttled_per_address(proxied: LiveServer) -> None:
    body = {"paramsToSign": {"timestamp": int(time.time())}}
    guesser = _from("203.0.113.21")
    statuses = [
        httpx.post(f"{proxied.base_url}/api/sign", json=body, headers={**guesser, "Authorization": f"Bearer guess{i}"}, timeout=TIMEOUT).status_code
        for i in range(BEARER_FROM_CLIENT.threshold)
    ]
    assert statuses == [401] * BEARER_FROM_CLIENT.threshold
    refused = httpx.post(f"{proxied.base_url}/api/sign", json=body, headers={**guesser, "Authorization": "Bearer another"}, timeout=TIMEOUT)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    elsewhere = httpx.post(f"{proxied.base_url}/api/sign", json=body, headers={**_from("198.51.100.21"), "Authorization": "Bearer x"}, timeout=TIMEOUT)
    assert elsewhere.status_code == 401


def test_guessing_media_store_tokens_is_throttled_per_address(proxied: LiveServer) -> None:
    url = f"{proxied.base_url}/api/cloudinary/media"
    guesser = _from("203.0.113.22")
    statuses = [
        httpx.get(url, headers={**guesser, "Authorization": f"Bearer guess{i}"}, timeout=TIMEOUT).status_code
        for i in range(BEARER_FROM_CLIENT.threshold)
    ]
    assert statuses == [401] * BEARER_FROM_CLIENT.threshold
    refused = httpx.get(url, headers={**guesser, "Authorization": "Bearer another"}, timeout=TIMEOUT)
    assert refused.status_code == 429 and "message" in refused.json() and int(refused.headers["retry-after"]) > 0
    assert httpx.get(url, headers={**_from("198.51.100.22"), "Authorization": "Bearer x"}, timeout=TIMEOUT).status_code == 401
    # A real token is admitted even from the locked address: nobody guesses 32 random bytes, and
    # a caller sharing its address with a guesser must not be locked out by it.
    assert httpx.get(url, headers={**guesser, "Authorization": f"Bearer {_media_token(proxied)}"}, timeout=TIMEOUT).status_code == 200


def _media_token(server: LiveServer) -> str:
    return access_token(server, "media", "throttling")
