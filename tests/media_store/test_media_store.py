"""The TinaCMS media store contract (shared/reference/tinacms-media.md), over HTTP in-process."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from darkroom.media import sessions

from .conftest import BASE, Store, png_bytes, upload

UNAUTHORIZED = {"message": "sorry this user is unauthorized"}
# What the TinaCMS media manager sends on first opening a folder.
FIRST_PAGE = "limit=36&thumbnailSizes=[object%20Object],[object%20Object],[object%20Object]&filesOnly=false"


def test_list_without_credentials_is_401_with_message(store: Store) -> None:
    response = store.client.get(f"/api/cloudinary/media?{FIRST_PAGE}")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_unknown_or_wrong_scope_or_revoked_token_is_401(store: Store) -> None:
    assert store.client.get("/api/cloudinary/media", headers={"Authorization": "Bearer LOCAL"}).status_code == 401
    other, text = sessions.create_access_token(store.engine(), "other")
    assert store.client.get("/api/cloudinary/media", headers={"Authorization": f"Bearer {text}"}).status_code == 401
    token, text = sessions.create_access_token(store.engine(), "media")
    assert store.client.get("/api/cloudinary/media", headers={"Authorization": f"Bearer {text}"}).status_code == 200
    sessions.revoke_access_token(store.engine(), token.id)
    assert store.client.get("/api/cloudinary/media", headers={"Authorization": f"Bearer {text}"}).json() == UNAUTHORIZED


def test_upload_answers_200_with_the_upload_json(store: Store) -> None:
    response = upload(store, "photos", "My-Pixel-1.png")
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"photos/My-Pixel-1_[a-z0-9]{6}", body["public_id"])
    assert body["original_filename"] == "My-Pixel-1"
    assert body["resource_type"] == "image" and body["format"] == "png"
    # secure_url is what the store embeds in content: the real public URL, ending in the extension.
    assert body["secure_url"] == f"{BASE}/{store.cloud}/image/upload/v{body['version']}/{body['public_id']}.png"
    assert store.client.get(body["secure_url"]).status_code == 200


def test_upload_at_the_root_strips_the_slash(store: Store) -> None:
    body = upload(store, "/", "cat.png").json()
    assert "/" not in body["public_id"] and body["public_id"].startswith("cat_")


def test_list_root_gives_folders_with_dot_parent_and_files(store: Store) -> None:
    root_file = upload(store, "/", "cat.png").json()
    upload(store, "photos/2024", "beach.png")
    body = store.client.get(f"/api/cloudinary/media?{FIRST_PAGE}", headers=store.auth).json()
    assert {"id": "photos", "type": "dir", "filename": "photos", "directory": "."} in body["items"]
    files = [item for item in body["items"] if item["type"] == "file"]
    assert [f["id"] for f in files] == [root_file["public_id"]]  # exact folder: nothing from below
    item = files[0]
    assert item["filename"] == root_file["public_id"] and item["directory"] == "."
    assert item["src"] == root_file["secure_url"]
    assert "offset" not in body


def test_list_nested_folder_items_and_thumbnails(store: Store) -> None:
    uploaded = upload(store, "photos", "beach.png").json()
    upload(store, "photos/2024", "sun.png")
    body = store.client.get(f"/api/cloudinary/media?limit=36&directory=photos&{FIRST_PAGE}", headers=store.auth).json()
    assert body["items"][0] == {"id": "photos/2024", "type": "dir", "filename": "2024", "directory": "photos"}
    file = body["items"][1]
    assert file["id"] == uploaded["public_id"]
    assert file["filename"] == uploaded["public_id"].split("/")[-1] and file["directory"] == "photos"
    version = uploaded["version"]
    for size in ("75x75", "400x400", "1000x1000"):
        w, h = size.split("x")
        expected = f"{BASE}/{store.cloud}/image/upload/w_{w},h_{h},c_fit,q_auto/v{version}/{uploaded['public_id']}.png"
        assert file["thumbnails"][size] == expected
    # An <img> is drawn only when the path ends in an image extension.
    assert all(url.endswith(".png") for url in [file["src"], *file["thumbnails"].values()])


def test_paging_with_opaque_cursor_and_files_only(store: Store) -> None:
    for name in ("a.png", "b.png", "c.png"):
        upload(store, "paged", name)
    upload(store, "paged/sub", "d.png")
    first = store.client.get("/api/cloudinary/media?limit=2&directory=paged&filesOnly=false", headers=store.auth).json()
    assert [i["type"] for i in first["items"]] == ["dir", "file", "file"]
    assert isinstance(first["offset"], str) and first["offset"]
    second = store.client.get(
        f"/api/cloudinary/media?directory=paged&limit=2&offset={first['offset']}&filesOnly=true", headers=store.auth
    ).json()
    assert [i["type"] for i in second["items"]] == ["file"]
    assert "offset" not in second
    ids = {i["id"] for i in first["items"] + second["items"] if i["type"] == "file"}
    assert len(ids) == 3


def test_delete_by_encoded_public_id(store: Store) -> None:
    uploaded = upload(store, "tina-test", "pixel.png").json()
    public_id = uploaded["public_id"]
    response = store.client.delete(f"/api/cloudinary/media/{quote(public_id, safe='')}?clientID=abc", headers=store.auth)
    assert response.status_code == 200 and response.json() == {"public_id": public_id}
    assert store.client.get(uploaded["secure_url"]).status_code == 404
    listing = store.client.get("/api/cloudinary/media?directory=tina-test", headers=store.auth).json()
    assert listing["items"] == []


def test_delete_of_a_missing_id_still_answers_200(store: Store) -> None:
    response = store.client.delete("/api/cloudinary/media/nope%2Fgone", headers=store.auth)
    assert response.status_code == 200 and response.json() == {"public_id": "nope/gone"}


def test_non_image_upload_is_raw_with_plain_thumbnails_and_deletable(store: Store) -> None:
    body = upload(store, "docs", "notes.txt", b"hello tina\n", "text/plain").json()
    assert body["resource_type"] == "raw" and body["public_id"].endswith(".txt")
    listing = store.client.get("/api/cloudinary/media?directory=docs", headers=store.auth).json()
    item = listing["items"][0]
    assert set(item["thumbnails"].values()) == {item["src"]}
    store.client.delete(f"/api/cloudinary/media/{quote(body['public_id'], safe='')}", headers=store.auth)
    assert store.client.get("/api/cloudinary/media?directory=docs", headers=store.auth).json()["items"] == []


def test_upload_without_file_is_400(store: Store) -> None:
    response = store.client.post("/api/cloudinary/media", data={"directory": "x", "filename": "a.png"}, headers=store.auth)
    assert response.status_code == 400 and response.json() == {"message": "file is required"}


def test_path_escapes_are_400_with_message(store: Store) -> None:
    listing = store.client.get("/api/cloudinary/media?directory=../etc", headers=store.auth)
    assert listing.status_code == 400 and "message" in listing.json()
    assert upload(store, "a/../../b").status_code == 400
    assert upload(store, "a\\b").status_code == 400
    deleted = store.client.delete("/api/cloudinary/media/..%2Fsecrets", headers=store.auth)
    assert deleted.status_code == 400 and "message" in deleted.json()


def test_unknown_query_keys_and_literal_empty_directory_mean_root(store: Store) -> None:
    upload(store, "/", "x.png")
    body = store.client.get('/api/cloudinary/media?directory=""&ext=jpg,png&search=x', headers=store.auth).json()
    assert len(body["items"]) == 1


def test_open_mode_admits_anyone_including_local_token(make_store: Callable[..., Store]) -> None:
    store = make_store(media_store_auth="open")
    assert store.client.get("/api/cloudinary/media").status_code == 200
    assert store.client.get("/api/cloudinary/media", headers={"Authorization": "Bearer LOCAL"}).status_code == 200


def test_cors_preflight_for_allowed_origin_only(make_store: Callable[..., Store]) -> None:
    store = make_store(media_store_cors_origins="https://cms.example.com")
    preflight = {"Origin": "https://cms.example.com", "Access-Control-Request-Method": "DELETE",
                 "Access-Control-Request-Headers": "authorization"}
    ok = store.client.options("/api/cloudinary/media/x%2Fy", headers=preflight)
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == "https://cms.example.com"
    assert "DELETE" in ok.headers["access-control-allow-methods"]
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    refused = store.client.options("/api/cloudinary/media", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers
    listed = store.client.get("/api/cloudinary/media", headers={**store.auth, "Origin": "https://cms.example.com"})
    assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == "https://cms.example.com"
    # Even a refusal carries the header, so the CMS can read the 401 and show its login wall.
    refused_get = store.client.get("/api/cloudinary/media", headers={"Origin": "https://cms.example.com"})
    assert refused_get.status_code == 401 and refused_get.headers["access-control-allow-origin"] == "https://cms.example.com"


def test_base_path_is_configurable(make_store: Callable[..., Store]) -> None:
    store = make_store(media_store_path="/cms/media")
    assert store.client.get("/cms/media", headers=store.auth).status_code == 200
    # The old path is no longer the store's (whatever else answers it, it is not a listing).
    assert "items" not in store.client.get("/api/cloudinary/media", headers=store.auth).text


def _console_session(store: Store) -> tuple[str, str]:
    """Sign in an operator directly; returns (cookie, csrf token)."""
    sessions.create_user(store.engine(), "operator", "correct horse battery")
    auth = store.client.app.state.services.console_auth
    cookie = auth.start_session("operator")
    session_id = auth.session_id(cookie)
    assert session_id is not None
    return cookie, auth.csrf_token(session_id)


def test_console_session_same_origin_with_csrf_on_writes(store: Store) -> None:
    cookie, csrf = _console_session(store)
    store.client.cookies.set(sessions.SESSION_COOKIE, cookie)
    assert store.client.get("/api/cloudinary/media").status_code == 200
    files = {"file": ("s.png", png_bytes(), "image/png")}
    without = store.client.post("/api/cloudinary/media", files=files, data={"directory": "s"})
    assert without.status_code == 401 and without.json() == UNAUTHORIZED
    with_csrf = store.client.post("/api/cloudinary/media", files=files, data={"directory": "s"}, headers={"X-CSRF-Token": csrf})
    assert with_csrf.status_code == 200
    foreign = store.client.get("/api/cloudinary/media", headers={"Origin": "https://elsewhere.example"})
    assert foreign.status_code == 401


def test_empty_folders_made_with_the_admin_api_are_listed(store: Store) -> None:
    from darkroom.catalog import folders

    folders.create_folder(store.engine(), store.cloud, "drafts/2025")
    root = store.client.get("/api/cloudinary/media", headers=store.auth).json()
    assert {"id": "drafts", "type": "dir", "filename": "drafts", "directory": "."} in root["items"]
    inner = store.client.get("/api/cloudinary/media?directory=drafts", headers=store.auth).json()
    assert inner["items"] == [{"id": "drafts/2025", "type": "dir", "filename": "2025", "directory": "drafts"}]
    unknown = store.client.get("/api/cloudinary/media?directory=nowhere", headers=store.auth)
    assert unknown.status_code == 200 and unknown.json() == {"items": []}


def test_an_asset_delivered_to_signed_urls_only_is_listed_with_signed_urls(store: Store) -> None:
    """Content embeds `src`: for an authenticated asset it must be a signed URL that loads
    (the secret stays on the server), and so must the editor's thumbnails."""
    uploaded = upload(store, "vault", "safe.png").json()
    key = store.settings.cloudinary_url
    assert key is not None
    locked = store.client.post(f"/v1_1/{store.cloud}/resources/image/upload/{uploaded['public_id']}", data={"access_mode": "authenticated"},
                               auth=(key.api_key, str(key.api_secret)))
    assert locked.status_code == 200 and locked.json()["access_mode"] == "authenticated", locked.text
    body = store.client.get(f"/api/cloudinary/media?directory=vault&{FIRST_PAGE}", headers=store.auth).json()
    (item,) = body["items"]
    for url in [item["src"], *item["thumbnails"].values()]:
        assert "/s--" in url and "topsecret" not in url, url
        assert store.client.get(url.removeprefix(BASE)).status_code == 200, url
        assert store.client.get(re.sub(r"/s--[A-Za-z0-9_-]+--", "", url).removeprefix(BASE)).status_code == 401, url
