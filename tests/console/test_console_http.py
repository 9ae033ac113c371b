"""The console over HTTP in-process: sign-in, guards, CSRF, the JSON API, security headers."""

from __future__ import annotations

import re

from tests.media_store.conftest import png_bytes

from .conftest import PASSWORD, Console


def test_pages_and_api_redirect_or_refuse_when_signed_out(console: Console) -> None:
    for path in ("/console", "/console/keys", "/console/presets", "/console/policies", "/examples/secure-upload"):
        response = console.client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/login?next=")
    for path in ("/console/api/resources", "/console/api/folders", "/examples/secure-upload/gallery"):
        assert console.client.get(path).status_code == 401
    assert console.client.post("/console/api/sign", json={"paramsToSign": {"timestamp": 1}}).status_code == 401


def test_sign_in_sets_an_httponly_session_cookie(console: Console) -> None:
    response = console.sign_in()
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert "darkroom_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = console.client.get("/console")
    assert page.status_code == 200 and console.user in page.text


def test_sign_in_form_needs_its_csrf_token(console: Console) -> None:
    console.login_token()
    response = console.client.post("/console/login", data={"username": console.user, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403 and "darkroom_session" not in response.headers.get("set-cookie", "")


def test_wrong_password_then_lock_out(console: Console) -> None:
    for _ in range(5):
        assert console.sign_in(password="wrong password").status_code == 401
    locked = console.sign_in()
    assert locked.status_code == 429 and "locked" in locked.text


def test_sign_out_needs_csrf_and_ends_the_session(console: Console) -> None:
    console.sign_in()
    csrf = console.csrf()
    forged = console.client.post("/console/logout", data={"csrf_token": "forged"})
    # A forged sign-out is refused whole: no cookie cleared, the session lives on.
    assert forged.status_code == 403 and "darkroom_session" not in forged.headers.get("set-cookie", "")
    assert console.client.get("/console").status_code == 200
    assert console.client.post("/console/logout", data={}).status_code == 403
    assert console.csrf() == csrf
    response = console.client.post("/console/logout", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert console.client.get("/console").status_code == 303


def test_api_writes_need_the_csrf_header(console: Console) -> None:
    console.sign_in()
    body = {"paramsToSign": {"timestamp": int(__import__("time").time()), "source": "uw"}}
    assert console.client.post("/console/api/sign", json=body).status_code == 401
    signed = console.client.post("/console/api/sign", json=body, headers={"X-CSRF-Token": console.csrf()})
    assert signed.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{40}", signed.json()["signature"]) and signed.json()["apiKey"] == console.api_key
    assert "topsecret" not in signed.text


def test_console_sign_refuses_stale_timestamps(console: Console) -> None:
    console.sign_in()
    response = console.client.post("/console/api/sign", json={"paramsToSign": {"timestamp": 1000}}, headers={"X-CSRF-Token": console.csrf()})
    assert response.status_code == 400 and response.json()["error"]["message"]


def test_pages_carry_a_strict_content_security_policy(console: Console) -> None:
    console.sign_in()
    page = console.client.get("/console")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    # Everything the page loads is served by darkroom itself.
    for url in re.findall(r'(?:src|href)="([^"#]+)"', page.text):
        assert url.startswith("/") or url.startswith("data:"), url


def _upload(console: Console, folder: str, name: str) -> dict:  # type: ignore[type-arg]
    import time

    csrf = console.csrf()
    params = {"timestamp": int(time.time()), "folder": folder, "source": "uw"}
    signed = console.client.post("/console/api/sign", json={"paramsToSign": params}, headers={"X-CSRF-Token": csrf}).json()
    files = {"file": (name, png_bytes(), "image/png")}
    form = {**{k: str(v) for k, v in params.items()}, "signature": signed["signature"], "api_key": signed["apiKey"]}
    response = console.client.post(f"/v1_1/{console.cloud}/image/upload", data=form, files=files)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_library_api_lists_folders_searches_tags_moves_and_deletes(console: Console) -> None:
    console.sign_in()
    first = _upload(console, "trips", "beach.png")
    second = _upload(console, "trips/2024", "sun.png")
    csrf = {"X-CSRF-Token": console.csrf()}
    folders = console.client.get("/console/api/folders").json()["folders"]
    assert folders == [{"name": "trips", "path": "trips"}]
    listed = console.client.get("/console/api/resources?folder=trips").json()
    assert listed["total_count"] == 2
    assert listed["resources"][0]["delivery_url"].startswith(f"http://darkroom.test/{console.cloud}/image/upload/")
    asset = {"resource_type": "image", "type": "upload", "public_id": first["public_id"]}
    tagged = console.client.post("/console/api/tags", json={"assets": [asset], "tag": "sea", "command": "add"}, headers=csrf)
    assert tagged.json() == {"public_ids": [first["public_id"]]}
    found = console.client.get("/console/api/resources?expression=tags%3Dsea").json()
    assert [r["public_id"] for r in found["resources"]] == [first["public_id"]]
    moved = console.client.post("/console/api/move", json={"assets": [asset], "folder": "archive"}, headers=csrf).json()
    new_id = moved["moved"][first["public_id"]]
    assert new_id.startswith("archive/")
    assert {"name": "archive", "path": "archive"} in console.client.get("/console/api/folders").json()["folders"]
    gone = {"resource_type": "image", "type": "upload", "public_id": second["public_id"]}
    assert console.client.post("/console/api/delete", json={"assets": [gone]}, headers=csrf).json() == {"deleted": {second["public_id"]: "deleted"}}
    remaining = [r["public_id"] for r in console.client.get("/console/api/resources").json()["resources"]]
    assert remaining == [new_id]


def test_asset_page_and_keys_page_show_a_new_secret_once(console: Console) -> None:
    console.sign_in()
    uploaded = _upload(console, "", "pic.png")
    page = console.client.get(f"/console/assets/image/upload/{uploaded['public_id']}")
    assert page.status_code == 200 and uploaded["public_id"] in page.text and "Transformation builder" in page.text
    csrf = console.csrf()
    created = console.client.post("/console/keys", data={"csrf_token": csrf, "action": "create", "label": "site"})
    secret = re.search(r'id="new-secret">([^<]+)<', created.text)
    assert secret
    assert secret.group(1) not in console.client.get("/console/keys").text
    refused = console.client.post("/console/keys", data={"csrf_token": "forged", "action": "create", "label": "x"})
    assert refused.status_code == 403


def test_widget_script_is_public_javascript(console: Console) -> None:
    response = console.client.get("/widget.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert "createUploadWidget" in response.text and "api_secret" not in response.text
