"""A tampering corpus: every way a signed upload can be forged is refused, and the control passes.

Requests are built with the SDK's own signing (`cloudinary.utils.sign_request`) and then
altered on the wire, so each case differs from a genuine request in exactly one way.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import sqlalchemy as sa

from darkroom.catalog import create_engine_for
from darkroom.catalog.schema import upload_presets
from support import LiveServer

Params = dict[str, str]

SIGNED = {
    "public_id": "tamper/target",
    "folder": "safe",
    "tags": "a,b",
    "context": "alt=x",
    "overwrite": "0",
    "type": "upload",
    "timestamp": "",  # filled per request
}


def signed_params(server: LiveServer, secret: str | None = None, algorithm: str = "sha1", **overrides: str) -> Params:
    params = {**SIGNED, "timestamp": str(int(time.time())), **overrides}
    signature = cloudinary.utils.api_sign_request(params, secret or server.api_secret, algorithm)
    return {**params, "signature": signature, "api_key": server.api_key}


def post_upload(server: LiveServer, params: Params, png: Path) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v1_1/{server.cloud}/image/upload",
        data=params,
        files={"file": ("file.png", png.read_bytes(), "application/octet-stream")},
    )


def test_untampered_control_is_accepted(sqlite_server: LiveServer, sample_png: Path) -> None:
    response = post_upload(sqlite_server, signed_params(sqlite_server, public_id="tamper/control"), sample_png)
    assert response.status_code == 200, response.text
    assert response.json()["public_id"] == "safe/tamper/control"


def test_sha256_signature_is_accepted(sqlite_server: LiveServer, sample_png: Path) -> None:
    params = signed_params(sqlite_server, algorithm="sha256", public_id="tamper/sha256")
    assert len(params["signature"]) == 64
    assert post_upload(sqlite_server, params, sample_png).status_code == 200


def _altered(name: str) -> Callable[[Params], Params]:
    return lambda p: {**p, name: p[name] + "x" if name != "timestamp" else str(int(p[name]) - 1)}


def _removed(name: str) -> Callable[[Params], Params]:
    return lambda p: {k: v for k, v in p.items() if k != name}


TAMPERINGS: dict[str, Callable[[Params], Params]] = {
    **{f"altered {name}": _altered(name) for name in SIGNED},
    **{f"removed {name}": _removed(name) for name in SIGNED if name != "timestamp"},
    "added invalidate": lambda p: {**p, "invalidate": "1"},
    "added eager": lambda p: {**p, "eager": "w_100"},
    "added upload_preset": lambda p: {**p, "upload_preset": "x"},
    "signature truncated": lambda p: {**p, "signature": p["signature"][:-1]},
    "sha1 signature made with another secret": lambda p: {**p, "signature": cloudinary.utils.api_sign_request({k: v for k, v in p.items() if k not in ("signature", "api_key")}, "not-the-secret")},
    "sha1 signature presented as sha256 length": lambda p: {**p, "signature": p["signature"] + "0" * 24},
    "tag list reordered": lambda p: {**p, "tags": "b,a"},
}


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=list(TAMPERINGS))
def test_tampered_request_is_refused_with_invalid_signature(sqlite_server: LiveServer, sample_png: Path, tamper: str) -> None:
    response = post_upload(sqlite_server, TAMPERINGS[tamper](signed_params(sqlite_server)), sample_png)
    assert response.status_code == 401, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("Invalid Signature "), message
    assert "String to sign - '" in message
    assert response.headers["x-cld-error"] == message


def test_removed_timestamp_is_a_bad_request(sqlite_server: LiveServer, sample_png: Path) -> None:
    response = post_upload(sqlite_server, _removed("timestamp")(signed_params(sqlite_server)), sample_png)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Missing required parameter - timestamp"


def test_stale_timestamp_is_refused(sqlite_server: LiveServer, sample_png: Path) -> None:
    params = signed_params(sqlite_server, timestamp=str(int(time.time()) - 3601))
    response = post_upload(sqlite_server, params, sample_png)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Stale request - reported time is ")


@pytest.mark.parametrize("ahead", [360, 10 * 365 * 86400])  # 360: past the 300 s skew even on a slow run
def test_future_timestamp_is_refused(sqlite_server: LiveServer, sample_png: Path, ahead: int) -> None:
    """A signature dated ahead would stay valid until then: a leaked one replayable for years."""
    params = signed_params(sqlite_server, timestamp=str(int(time.time()) + ahead))
    response = post_upload(sqlite_server, params, sample_png)
    assert response.status_code == 401, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("Stale request - reported time is ") and message.endswith("in the future"), message


def test_slightly_fast_client_clock_is_accepted(sqlite_server: LiveServer, sample_png: Path) -> None:
    params = signed_params(sqlite_server, timestamp=str(int(time.time()) + 120), public_id="tamper/fast-clock")
    assert post_upload(sqlite_server, params, sample_png).status_code == 200


@pytest.mark.parametrize("timestamp", ["9" * 400, "-" + "9" * 11, "1e9", "0x10"])
def test_timestamp_that_is_not_a_time_is_a_bad_request(sqlite_server: LiveServer, sample_png: Path, timestamp: str) -> None:
    """Signed correctly, but no time at all: refused as invalid, never a 500 from date arithmetic."""
    response = post_upload(sqlite_server, signed_params(sqlite_server, timestamp=timestamp), sample_png)
    if timestamp.startswith("-"):  # a number of the right size, long ago
        assert response.status_code == 401 and "Stale request" in response.text, response.text
    else:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["message"].startswith("Invalid timestamp - ")
        assert len(response.json()["error"]["message"]) < 60


def test_unknown_api_key_is_refused(sqlite_server: LiveServer, sample_png: Path) -> None:
    params = {**signed_params(sqlite_server), "api_key": "999999999999999"}
    response = post_upload(sqlite_server, params, sample_png)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Unknown API key 999999999999999"


def test_key_of_another_cloud_is_refused(sqlite_server: LiveServer, sample_png: Path) -> None:
    response = httpx.post(
        f"{sqlite_server.base_url}/v1_1/othercloud/image/upload",
        data=signed_params(sqlite_server),
        files={"file": ("file.png", sample_png.read_bytes())},
    )
    assert response.status_code == 404  # the cloud does not exist
    assert "othercloud" in response.json()["error"]["message"]


def _darkroom(server: LiveServer, *args: str) -> str:
    env = {**server.env(), "DARKROOM_DATABASE_URL": server.database_url}
    return subprocess.run(
        [sys.executable, "-m", "darkroom", *args, "--data-dir", str(server.data_dir)], env=env, check=True, capture_output=True, text=True
    ).stdout


def test_revoked_key_is_refused(sqlite_server: LiveServer, sample_png: Path) -> None:
    created = dict(line.split("=", 1) for line in _darkroom(sqlite_server, "keys", "create", "--cloud", sqlite_server.cloud).split())
    second = LiveServer(**{**sqlite_server.__dict__, "api_key": created["api_key"], "api_secret": created["api_secret"]})
    assert post_upload(second, signed_params(second, public_id="tamper/second-key"), sample_png).status_code == 200
    _darkroom(sqlite_server, "keys", "revoke", created["api_key"])
    response = post_upload(second, signed_params(second, public_id="tamper/revoked"), sample_png)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == f"Unknown API key {created['api_key']}"


def _preset(server: LiveServer, name: str, *, unsigned: bool, settings: dict[str, object]) -> None:
    engine = create_engine_for(server.database_url)
    with engine.begin() as conn:
        conn.execute(sa.delete(upload_presets).where(upload_presets.c.cloud == server.cloud, upload_presets.c.name == name))
        conn.execute(
            sa.insert(upload_presets).values(
                cloud=server.cloud, name=name, unsigned=unsigned, disallow_public_id=False, live=False, settings=settings,
                created_at=sa.func.now(),
            )
        )
    engine.dispose()


def test_unsigned_upload_without_preset_is_refused(sqlite_server: LiveServer, sample_png: Path) -> None:
    response = post_upload(sqlite_server, {"timestamp": str(int(time.time()))}, sample_png)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Upload preset must be specified when using unsigned upload"


def test_unsigned_upload_with_signed_preset_is_refused(sqlite_server: LiveServer, sample_png: Path) -> None:
    _preset(sqlite_server, "signed_only", unsigned=False, settings={})
    response = post_upload(sqlite_server, {"upload_preset": "signed_only"}, sample_png)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Upload preset must be whitelisted for unsigned uploads"


def test_unsigned_preset_applies_its_settings_and_limits_parameters(cld_sqlite: LiveServer, sample_png: Path) -> None:
    _preset(cld_sqlite, "ugc", unsigned=True, settings={"folder": "ugc", "tags": ["from-preset"], "allowed_formats": "png"})
    result = cloudinary.uploader.unsigned_upload(str(sample_png), "ugc", public_id="mine")
    assert result["public_id"] == "ugc/mine" and result["tags"] == ["from-preset"]
    assert "api_key" not in result
    response = post_upload(cld_sqlite, {"upload_preset": "ugc", "overwrite": "1"}, sample_png)
    assert response.status_code == 400 and "overwrite" in response.json()["error"]["message"]


def test_no_upload_is_stored_when_refused(sqlite_server: LiveServer, sample_png: Path) -> None:
    forged = TAMPERINGS["altered public_id"](signed_params(sqlite_server, public_id="tamper/never"))
    assert post_upload(sqlite_server, forged, sample_png).status_code == 401
    url = f"{sqlite_server.base_url}/{sqlite_server.cloud}/image/upload/safe/tamper/neverx.png"
    assert httpx.get(url).status_code == 404
    spool = sqlite_server.data_dir / "spool"
    assert not any(spool.glob("upload-*")), "refused uploads must not leave spool files"


def test_clouds_are_isolated(sqlite_server: LiveServer, sample_png: Path) -> None:
    _darkroom(sqlite_server, "clouds", "create", "tenant2")
    created = dict(line.split("=", 1) for line in _darkroom(sqlite_server, "keys", "create", "--cloud", "tenant2").split())
    tenant = LiveServer(**{**sqlite_server.__dict__, "cloud": "tenant2", "api_key": created["api_key"], "api_secret": created["api_secret"]})
    uploaded = post_upload(tenant, signed_params(tenant, public_id="tenant/only"), sample_png)
    assert uploaded.status_code == 200
    # The other cloud's key cannot act on the first cloud, and its assets are not delivered there.
    response = post_upload(sqlite_server, {**signed_params(tenant, public_id="tenant/cross"), "api_key": tenant.api_key}, sample_png)
    assert response.status_code == 401
    assert httpx.get(uploaded.json()["url"]).status_code == 200
    assert httpx.get(uploaded.json()["url"].replace("/tenant2/", f"/{sqlite_server.cloud}/")).status_code == 404


@pytest.mark.parametrize("action", ["destroy", "rename", "tags", "context", "explicit"])
def test_actions_other_than_upload_cannot_be_unsigned(sqlite_server: LiveServer, action: str) -> None:
    url = f"{sqlite_server.base_url}/v1_1/{sqlite_server.cloud}/image/{action}"
    anonymous = httpx.post(url, data={"public_id": "x", "upload_preset": "ugc"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["message"] == "Must supply api_key"
    unsigned = httpx.post(url, data={"public_id": "x", "api_key": sqlite_server.api_key})
    assert unsigned.status_code == 400 and unsigned.json()["error"]["message"] == "Missing required parameter - signature"


def test_a_signed_expires_at_does_not_stretch_an_uploads_window(sqlite_server: LiveServer, sample_png: Path) -> None:
    """Only download links live until their `expires_at`: a captured signed upload carrying one
    is still stale after the hour, not replayable until then."""
    params = signed_params(
        sqlite_server, timestamp=str(int(time.time()) - 7200), expires_at=str(int(time.time()) + 86400), public_id="tamper/expiring"
    )
    response = post_upload(sqlite_server, params, sample_png)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["message"].startswith("Stale request - reported time is ")
