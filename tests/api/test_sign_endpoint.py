"""`POST /api/sign`: signatures only for callers and parameters a policy admits."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cloudinary.utils
import httpx
import pytest

from support import LiveServer


@pytest.fixture(scope="module")
def policy_token(sqlite_server: LiveServer) -> str:
    env = {**sqlite_server.env(), "DARKROOM_DATABASE_URL": sqlite_server.database_url}
    out = subprocess.run(
        [
            sys.executable, "-m", "darkroom", "policies", "create", "--cloud", sqlite_server.cloud, "--name", "browser",
            "--allow", "folder", "--allow", "upload_preset", "--allow", "public_id", "--allow", "tags",
            "--folder-prefix", "ugc", "--max-skew", "120", "--data-dir", str(sqlite_server.data_dir),
        ],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.split())["token"]


def ask(server: LiveServer, params: dict[str, object], token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.base_url}/api/sign", json={"paramsToSign": params}, headers=headers)


def test_admitted_params_are_signed_and_the_upload_succeeds(sqlite_server: LiveServer, policy_token: str, sample_png: Path) -> None:
    params = {"timestamp": int(time.time()), "source": "uw", "folder": "ugc/alice", "public_id": "avatar"}
    response = ask(sqlite_server, params, policy_token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["apiKey"] == sqlite_server.api_key
    assert body["signature"] == cloudinary.utils.api_sign_request(params, sqlite_server.api_secret)
    assert sqlite_server.api_secret not in response.text
    upload = httpx.post(
        f"{sqlite_server.base_url}/v1_1/{sqlite_server.cloud}/image/upload",
        data={**{k: str(v) for k, v in params.items()}, "signature": body["signature"], "api_key": body["apiKey"]},
        files={"file": ("avatar.png", sample_png.read_bytes())},
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["public_id"] == "ugc/alice/avatar"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"folder": "ugc", "overwrite": 1}, "Parameter not allowed by the signing policy: overwrite"),
        ({"folder": "elsewhere"}, "folder must be inside ugc/"),
        ({}, "folder is required"),
        ({"folder": "ugc", "timestamp": 1}, "seconds from the server's time"),
        ({"folder": "ugc", "public_id": "../../escape"}, "may not leave its folder"),
    ],
)
def test_refused_params_get_403_with_the_reason(sqlite_server: LiveServer, policy_token: str, params: dict[str, object], reason: str) -> None:
    response = ask(sqlite_server, {"timestamp": int(time.time()), **params}, policy_token)
    assert response.status_code == 403
    assert reason in response.json()["error"]["message"]


@pytest.mark.parametrize("token", [None, "drs_not-a-real-token"])
def test_callers_without_a_valid_token_get_401(sqlite_server: LiveServer, token: str | None) -> None:
    response = ask(sqlite_server, {"timestamp": int(time.time()), "folder": "ugc"}, token)
    assert response.status_code == 401


@pytest.mark.parametrize("timestamp", ["9" * 400, "9" * 5000, "1_700_000_000", " 1700000000", 1.5, True, None])
def test_a_timestamp_that_is_not_bounded_unix_seconds_is_a_bad_request(sqlite_server: LiveServer, policy_token: str, timestamp: object) -> None:
    response = ask(sqlite_server, {"timestamp": timestamp, "folder": "ugc"}, policy_token)
    assert response.status_code == 400
    assert "timestamp" in response.json()["error"]["message"]


def test_malformed_body_is_a_bad_request(sqlite_server: LiveServer, policy_token: str) -> None:
    response = httpx.post(
        f"{sqlite_server.base_url}/api/sign", content=b"not json", headers={"Authorization": f"Bearer {policy_token}"}
    )
    assert response.status_code == 400
