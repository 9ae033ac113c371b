"""The console and the widget in a real browser: Playwright for Python driving Debian's Chromium.

One live darkroom (real uvicorn process) for the module; every test signs in afresh in
its own browser context. Screenshots of each page go to test-artifacts/console/.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudinary.utils
import httpx
import pytest
import pyvips

from tests.support import LiveServer, start_server, stop_server, wait_until_healthy, web_origin

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
USER = "grace"
PASSWORD = "compiler-1952-cobol"
EFFECTS = ["Original", "Grayscale", "Sepia", "Auto-enhance", "Sharpen", "Vignette"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (.ci/run installs it)")


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("darkroom-console")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'darkroom.db'}")
    try:
        wait_until_healthy(server.base_url, server.process)
        env = {**server.env(), "DARKROOM_DATABASE_URL": server.database_url}
        subprocess.run(
            [sys.executable, "-m", "darkroom", "users", "create", USER, "--password-stdin", "--data-dir", str(data_dir)],
            input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True,
        )
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=live.base_url, viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    outside: list[str] = []
    # No page may reach anything but darkroom itself.
    tab.on("request", lambda request: outside.append(request.url) if not request.url.startswith((live.base_url, "data:", "blob:")) else None)
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    assert outside == [], f"requests left darkroom: {outside}"


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, password: str = PASSWORD) -> None:
    page.goto("/console")
    page.fill("#username", USER)
    page.fill("#password", password)
    page.click("button[type=submit]")


def image_file(name: str, hue: int, size: tuple[int, int] = (480, 320)) -> dict[str, str]:
    """A colourful PNG (so effects visibly differ), as the page will build a File from it."""
    width, height = size
    xyz = pyvips.Image.xyz(width, height)
    red = (xyz[0] * (255 / width)).cast("uchar")
    green = (xyz[1] * (255 / height)).cast("uchar")
    blue = (pyvips.Image.black(width, height) + hue).cast("uchar")
    data = red.bandjoin([green, blue]).write_to_buffer(".png")
    return {"name": name, "type": "image/png", "b64": base64.b64encode(data).decode()}


def drop_files(page: Any, selector: str, files: list[dict[str, str]]) -> None:
    """Drag and drop real File objects onto `selector`, as a person dragging from the desktop."""
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return dt;
        }""",
        files,
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def console_resources(page: Any, folder: str = "") -> list[dict[str, Any]]:
    response = page.request.get(f"/console/api/resources?max_results=100&folder={folder}")
    assert response.ok
    return response.json()["resources"]  # type: ignore[no-any-return]


# ---- tests ------------------------------------------------------------------------------


def test_sign_in_rejects_a_wrong_password_then_admits(page: Any) -> None:
    page.goto("/console")
    assert "/console/login" in page.url
    shot(page, "01-sign-in")
    sign_in(page, "not the password")
    assert "Invalid user name or password" in page.inner_text("[role=alert]")
    sign_in(page)
    page.wait_for_url("**/console")
    page.wait_for_selector("#grid", state="attached")
    assert USER in page.inner_text(".topbar")
    shot(page, "02-library-empty")


def test_drag_and_drop_three_files_shows_three_finished_progress_bars_and_tiles(page: Any) -> None:
    sign_in(page)
    page.wait_for_selector("#folder-tree")
    page.click("#toggle-upload")
    files = [image_file(f"dropped-{i}.png", hue) for i, hue in enumerate((30, 140, 250))]
    drop_files(page, "[data-drw=dropzone]", files)
    page.wait_for_function("() => document.querySelectorAll('[data-drw=item].drw-done').length === 3")
    bars = page.eval_on_selector_all("[data-drw=item] progress", "bars => bars.map(b => b.value)")
    assert bars == [100, 100, 100]
    shot(page, "03-upload-progress-done")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#grid .tile img').length >= 3")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#grid .tile img')].every(img => img.complete && img.naturalWidth > 0)"
    )
    names = page.eval_on_selector_all("#grid .tile", "tiles => tiles.map(t => t.dataset.publicId)")
    assert len([n for n in names if n.startswith("dropped-") or "dropped" in n or n]) >= 3
    assert len(console_resources(page)) == 3
    shot(page, "04-library-three-tiles")


def test_lightbox_switches_through_effect_presets_and_each_loads(page: Any) -> None:
    sign_in(page)
    page.wait_for_function("() => document.querySelectorAll('#grid .tile img').length >= 1")
    page.click("#grid .tile img")
    page.wait_for_selector("#lightbox[open]")
    labels = page.eval_on_selector_all("#lightbox-presets button", "buttons => buttons.map(b => b.textContent)")
    assert labels[: len(EFFECTS)] == EFFECTS  # then any add-on effect the renderer has
    for index, label in enumerate(labels):
        page.click(f"#lightbox-presets button:text-is('{label}')")
        page.wait_for_function("() => document.getElementById('lightbox-image').dataset.loaded !== ''")
        state = page.eval_on_selector("#lightbox-image", "img => [img.dataset.loaded, img.naturalWidth, img.src]")
        assert state[0] == "1" and state[1] > 0, f"{label} did not load: {state[2]}"
        shot(page, f"05-lightbox-{index}-{label.lower()}")
    # Keyboard: the right arrow moves to the next image and keeps the dialog open.
    first_src = page.get_attribute("#lightbox-image", "src")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => document.getElementById('lightbox-image').src !== {json.dumps(first_src)}")
    page.keyboard.press("Escape")
    page.wait_for_selector("#lightbox:not([open])", state="attached")


def test_an_authenticated_image_shows_in_the_grid_and_lightbox_through_signed_urls(page: Any, live: LiveServer) -> None:
    """An `upload` whose access mode is authenticated: delivered to signed URLs only, so the
    console's scripts must use the URLs the server signed instead of adding transformations."""
    params = {"timestamp": str(int(time.time())), "public_id": "vault-secret"}
    form = {**params, "signature": cloudinary.utils.api_sign_request(params, live.api_secret), "api_key": live.api_key}
    png = base64.b64decode(image_file("secret.png", 200)["b64"])
    uploaded = httpx.post(f"{live.base_url}/v1_1/{live.cloud}/image/upload", data=form, files={"file": ("secret.png", png)})
    assert uploaded.status_code == 200, uploaded.text
    locked = httpx.post(f"{live.base_url}/v1_1/{live.cloud}/resources/image/upload/vault-secret", data={"access_mode": "authenticated"},
                        auth=(live.api_key, live.api_secret))
    assert locked.status_code == 200 and locked.json()["access_mode"] == "authenticated", locked.text
    assert httpx.get(uploaded.json()["url"]).status_code == 401
    sign_in(page)
    tile = '#grid .tile[data-public-id="vault-secret"] img'
    page.wait_for_selector(tile)
    page.wait_for_function(f"() => {{ const img = document.querySelector({json.dumps(tile)}); return img.complete && img.naturalWidth > 0; }}")
    assert "/s--" in page.get_attribute(tile, "src")
    page.click(tile)
    page.wait_for_selector("#lightbox[open]")
    page.wait_for_function("() => document.getElementById('lightbox-image').dataset.loaded !== ''")
    state = page.eval_on_selector("#lightbox-image", "img => [img.dataset.loaded, img.naturalWidth, img.src]")
    assert state[0] == "1" and state[1] > 0 and "/s--" in state[2], state
    assert page.is_hidden("#lightbox-presets")  # effects would be transformations the signature does not cover
    page.keyboard.press("Escape")


def test_dark_mode_library_and_lightbox(browser: Any, live: LiveServer) -> None:
    context = browser.new_context(base_url=live.base_url, color_scheme="dark", viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    try:
        sign_in(tab)
        tab.wait_for_selector("#grid", state="attached")
        background = tab.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 20, 23)"
        shot(tab, "06-library-dark")
    finally:
        context.close()


def test_forged_signature_upload_shows_an_error_and_stores_nothing(page: Any, live: LiveServer) -> None:
    sign_in(page)
    page.wait_for_selector("#folder-tree")
    before = len(console_resources(page))
    # Whoever answers the signature request lies: the signature is not the server's.
    page.route("**/console/api/sign", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"signature": "0" * 40, "apiKey": live.api_key})))
    page.click("#toggle-upload")
    drop_files(page, "[data-drw=dropzone]", [image_file("forged.png", 90)])
    page.wait_for_selector("[data-drw=item].drw-failed")
    message = page.inner_text("[data-drw=item].drw-failed .drw-status")
    assert "Invalid Signature" in message, message
    shot(page, "07-forged-signature-error")
    assert len(console_resources(page)) == before


def test_client_side_checks_mirror_the_options(page: Any) -> None:
    sign_in(page)
    page.wait_for_selector("#folder-tree")
    page.wait_for_function("() => typeof darkroom !== 'undefined'")  # widget.js may finish loading after the tree is drawn
    problem = page.evaluate(
        "() => [darkroom._checkFile({clientAllowedFormats: ['jpg', 'png']}, 'x.gif', 10),"
        " darkroom._checkFile({maxFileSize: 100}, 'x.png', 1000), darkroom._checkFile({clientAllowedFormats: ['jpg']}, 'x.JPEG', 5)]"
    )
    assert "not allowed" in problem[0] and "too large" in problem[1] and problem[2] is None


def test_widget_on_the_example_page_uploads_through_an_apps_signature_endpoint(page: Any, live: LiveServer) -> None:
    """The seed's route, unchanged: POST {paramsToSign} -> {signature}, signed with the SDK by 'the app'."""
    seen: list[dict[str, Any]] = []

    def app_sign(route: Any) -> None:
        params = json.loads(route.request.post_data)["paramsToSign"]
        seen.append(params)
        signature = cloudinary.utils.api_sign_request(params, live.api_secret)
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"signature": signature, "apiKey": live.api_key}))

    page.route("**/app/sign", app_sign)
    sign_in(page)
    page.goto("/examples/secure-upload?signatureEndpoint=/app/sign&folder=nextjs-secure-demo")
    shot(page, "08-example-empty")
    page.click("#open-widget")
    page.wait_for_selector(".drw-overlay:not([hidden])")
    shot(page, "09-example-widget-open")
    chosen = image_file("seed-photo.png", 200, (640, 420))
    page.set_input_files("[data-drw=file-input]", files=[{
        "name": chosen["name"], "mimeType": chosen["type"], "buffer": base64.b64decode(chosen["b64"])}])
    page.wait_for_selector("[data-drw=item].drw-done")
    assert seen and seen[0]["source"] == "uw" and seen[0]["folder"] == "nextjs-secure-demo" and "timestamp" in seen[0]
    assert "Uploaded nextjs-secure-demo/" in page.inner_text("#demo-status")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.querySelectorAll('#gallery img').length === 1")
    page.wait_for_function("() => [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "10-example-gallery")
    page.click("#gallery img")
    page.wait_for_selector("#lightbox[open]")
    page.wait_for_function("() => document.getElementById('lightbox-image').dataset.loaded !== ''")
    shot(page, "11-example-lightbox")


APP_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Someone's app</title></head><body>
<button id="upload">Upload Image</button> <button id="upload-hooked">Upload (hook)</button><pre id="out" style="white-space:pre-wrap;word-break:break-all"></pre>
<script src="{darkroom}/widget.js"></script>
<script>
  const widget = cloudinary.createUploadWidget({{
    cloudName: "{cloud}", apiKey: "{api_key}", uploadPreset: undefined, signatureEndpoint: "/api/sign",
    sources: ["local"], multiple: true, maxFileSize: 10000000, clientAllowedFormats: ["jpg", "png", "webp", "avif"],
    folder: "third-party",
  }}, (error, result) => {{
    if (!error && result.event === "success") document.getElementById("out").textContent = JSON.stringify(result.info);
  }});
  document.getElementById("upload").onclick = () => widget.open();
  // The other hook Cloudinary's widget offers: a function that gets paramsToSign and calls back.
  const hooked = cloudinary.createUploadWidget({{
    cloudName: "{cloud}", apiKey: "{api_key}", folder: "third-party/hooked", sources: ["local"],
    uploadSignature: (callback, paramsToSign) => fetch("/api/sign", {{
      method: "POST", headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{paramsToSign}}),
    }}).then((r) => r.json()).then((body) => callback(body.signature)),
  }}, (error, result) => {{
    if (!error && result.event === "success") document.getElementById("out").textContent = JSON.stringify(result.info);
  }});
  document.getElementById("upload-hooked").onclick = () => hooked.open();
</script></body></html>"""


@pytest.fixture
def app_site(live: LiveServer) -> Iterator[str]:
    """Someone's app on its own origin: its page, and its own /api/sign (the seed's route, in Python)."""
    html = APP_PAGE.format(darkroom=live.base_url, cloud=live.cloud, api_key=live.api_key).encode()

    def answer(method: str, _path: str, body: bytes) -> tuple[int, str, bytes]:
        if method == "GET":
            return 200, "text/html", html
        params = json.loads(body)["paramsToSign"]
        return 200, "application/json", json.dumps({"signature": cloudinary.utils.api_sign_request(params, live.api_secret)}).encode()

    with web_origin(answer) as origin:
        yield origin


def test_widget_drops_into_another_sites_page_cross_origin(browser: Any, app_site: str) -> None:
    """An app on its own origin keeps its page and its /api/sign; only the script tag points at darkroom."""
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    try:
        tab.goto(f"{app_site}/gallery")
        tab.click("#upload")
        chosen = image_file("cross-origin.png", 120)
        tab.set_input_files("[data-drw=file-input]", files=[{
            "name": chosen["name"], "mimeType": chosen["type"], "buffer": base64.b64decode(chosen["b64"])}])
        tab.wait_for_selector("[data-drw=item].drw-done")
        shot(tab, "10-widget-on-another-site")
        info = json.loads(tab.inner_text("#out"))
        assert info["public_id"].startswith("third-party/") and info["width"] == 480
        assert httpx.get(info["url"]).status_code == 200
        tab.keyboard.press("Escape")
        tab.click("#upload-hooked")
        tab.set_input_files(".drw-overlay:not([hidden]) [data-drw=file-input]", files=[{
            "name": "hooked.png", "mimeType": chosen["type"], "buffer": base64.b64decode(chosen["b64"])}])
        tab.wait_for_selector(".drw-overlay:not([hidden]) [data-drw=item].drw-done")
        assert json.loads(tab.inner_text("#out"))["public_id"].startswith("third-party/hooked/")
    finally:
        context.close()


def test_example_page_signs_with_the_console_when_no_policy_is_given(page: Any) -> None:
    sign_in(page)
    page.goto("/examples/secure-upload?folder=default-signer")
    page.click("#open-widget")
    page.set_input_files("[data-drw=file-input]", files=[{
        "name": "default.png", "mimeType": "image/png", "buffer": base64.b64decode(image_file("d.png", 10)["b64"])}])
    page.wait_for_selector("[data-drw=item].drw-done")
    assert len(console_resources(page, "default-signer")) == 1


def test_example_page_uses_darkrooms_own_api_sign_once_a_policy_admits_the_console(page: Any, live: LiveServer) -> None:
    env = {**live.env(), "DARKROOM_DATABASE_URL": live.database_url}
    subprocess.run(
        [sys.executable, "-m", "darkroom", "policies", "create", "--cloud", live.cloud, "--name", "console-demo",
         "--console", "--folder-prefix", "policy-demo", "--data-dir", str(live.data_dir)],
        env=env, check=True, capture_output=True, text=True,
    )
    sign_in(page)
    page.goto("/examples/secure-upload?folder=policy-demo/inside")
    assert page.get_attribute("#demo", "data-endpoint") == "/api/sign"
    png = base64.b64decode(image_file("p.png", 60)["b64"])
    page.click("#open-widget")
    page.set_input_files("[data-drw=file-input]", files=[{"name": "policy.png", "mimeType": "image/png", "buffer": png}])
    page.wait_for_selector("[data-drw=item].drw-done")
    assert len(console_resources(page, "policy-demo")) == 1
    # Outside the policy's folder the signature is refused, the widget says so, nothing is stored.
    page.goto("/examples/secure-upload?folder=elsewhere")
    page.click("#open-widget")
    page.set_input_files("[data-drw=file-input]", files=[{"name": "outside.png", "mimeType": "image/png", "buffer": png}])
    page.wait_for_selector("[data-drw=item].drw-failed")
    shot(page, "12-example-policy-refused")
    assert console_resources(page, "elsewhere") == []


def test_folders_tags_search_and_upload_from_a_url(page: Any, live: LiveServer) -> None:
    sign_in(page)
    page.wait_for_selector("#folder-tree button[data-folder=nextjs-secure-demo]")
    page.click("#folder-tree button[data-folder=nextjs-secure-demo]")
    page.wait_for_function("() => document.querySelectorAll('#grid .tile').length === 1")
    only = page.get_attribute("#grid .tile", "data-public-id")
    assert only.startswith("nextjs-secure-demo/")
    # Tag it from the selection bar, then find it with the Search API's expression language.
    page.check("#grid .tile input[type=checkbox]")
    page.fill("#tag-name", "seaside")
    page.click("#tag-add")
    page.click("#folder-tree button[data-folder='']")
    page.wait_for_function("() => document.querySelectorAll('#grid .tile').length > 1")
    page.fill("#search", "tags=seaside")
    page.press("#search", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#grid .tile').length === 1")
    assert page.get_attribute("#grid .tile", "data-public-id") == only
    shot(page, "13-search-by-tag")
    # Upload from a URL: darkroom fetches the file itself (127.0.0.1 is allow-listed in tests).
    source = console_resources(page, "nextjs-secure-demo")[0]["url"]
    page.click("#folder-tree button[data-folder=nextjs-secure-demo]")
    page.click("#toggle-upload")
    page.click("text=From a URL")
    page.fill("[data-drw=url-input]", source)
    page.press("[data-drw=url-input]", "Enter")
    page.wait_for_selector("[data-drw=item].drw-done")
    assert len(console_resources(page, "nextjs-secure-demo")) == 2


def test_preset_formats_are_checked_in_the_browser_and_again_by_the_server(page: Any) -> None:
    sign_in(page)
    page.goto("/console/presets")
    page.fill("#new-preset input[name=name]", "png-only")
    page.fill("#new-preset input[name=allowed_formats]", "png")
    page.click("#new-preset button[type=submit]")
    page.wait_for_selector("text=Created preset png-only")
    shot(page, "14-presets")
    page.goto("/console")
    page.wait_for_selector("[data-drw=dropzone]", state="attached")  # the library script has run
    page.click("#toggle-upload")
    page.select_option("#upload-preset", "png-only")
    page.wait_for_selector("#upload-widget .drw-hint:text('Formats: png')")
    uploads: list[str] = []
    page.on("request", lambda request: uploads.append(request.url) if "/upload" in request.url else None)
    image = pyvips.Image.xyz(64, 48)[0].cast("uchar")
    jpeg = {"name": "photo.jpg", "type": "image/jpeg", "b64": base64.b64encode(image.write_to_buffer(".jpg")).decode()}
    drop_files(page, "[data-drw=dropzone]", [jpeg])
    page.wait_for_selector("[data-drw=item].drw-failed")
    assert "not allowed" in page.inner_text("[data-drw=item].drw-failed .drw-status")
    assert uploads == []  # refused before anything was sent
    # Without the browser's check the server still refuses, and nothing is stored.
    before = len(console_resources(page))
    page.eval_on_selector("#upload-preset", "s => { s.selectedOptions[0].dataset.formats = ''; s.dispatchEvent(new Event('change')); }")
    page.wait_for_selector("#upload-widget [data-drw=queue]:empty", state="attached")
    drop_files(page, "[data-drw=dropzone]", [jpeg])
    page.wait_for_selector("[data-drw=item].drw-failed")
    message = page.inner_text("[data-drw=item].drw-failed .drw-status")
    assert "not allowed" in message and uploads, message
    shot(page, "15-preset-refused-by-server")
    assert len(console_resources(page)) == before


def test_asset_page_builder_preview_is_the_real_url(page: Any, live: LiveServer) -> None:
    sign_in(page)
    page.wait_for_function("() => document.querySelectorAll('#grid .tile a').length >= 1")
    page.click("#grid .tile a")
    page.wait_for_selector("#builder")
    page.fill("#builder input[name=w]", "120")
    page.select_option("#builder select[name=c]", "scale")
    url = page.input_value("#built-url")
    assert "/image/upload/c_scale,w_120/" in url
    assert page.get_attribute("#built-preview", "src") == url
    shot(page, "14-asset-page")


def test_settings_pages_render(page: Any) -> None:
    sign_in(page)
    page.wait_for_selector("#grid", state="attached")
    page.goto("/console/policies")
    page.fill("#new-policy-form input[name=name]", "web")
    page.fill("#new-policy-form input[name=folder_prefix]", "ugc")
    page.click("#new-policy-form button[type=submit]")
    page.wait_for_selector("#new-token")
    assert page.inner_text("#new-token").startswith("drs_")
    shot(page, "16-policies-token-once")
    page.goto("/console/keys")
    page.fill("input[name=label]", "website")
    page.click("text=Create key")
    page.wait_for_selector("#new-secret")
    shot(page, "17-keys-secret-once")
    page.goto("/console/keys")
    assert page.query_selector("#new-secret") is None


def test_delete_selected_assets_from_the_library(page: Any) -> None:
    sign_in(page)
    page.wait_for_function("() => document.querySelectorAll('#grid .tile').length >= 1")
    before = len(console_resources(page))
    page.on("dialog", lambda dialog: dialog.accept())
    page.check("#grid .tile >> nth=0 >> input[type=checkbox]")
    assert "1 selected" in page.inner_text("#selection-count")
    shot(page, "18-selection")
    page.click("#delete")
    page.wait_for_function(f"() => document.querySelectorAll('#grid .tile').length === {before - 1}")
    assert len(console_resources(page)) == before - 1


def test_sign_out_ends_the_session(page: Any) -> None:
    sign_in(page)
    page.wait_for_selector("#grid", state="attached")
    page.click("[data-test=sign-out]")
    page.wait_for_url("**/console/login")
    page.goto("/console")
    assert "/console/login" in page.url
    assert page.request.get("/console/api/resources").status == 401
    shot(page, "19-signed-out")
