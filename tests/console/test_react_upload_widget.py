"""The React `<CldUploadWidget>` replacement (docs/examples/next/CldUploadWidget.jsx) in Chromium.

A React app on its own origin, bundled the way a Next.js page would ship it, with its own
`/api/sign` route (the secret stays in that route): the component loads darkroom's
/widget.js, opens on click, uploads through the signature endpoint, and calls `onSuccess`
and `onQueuesEnd` with Cloudinary's result shape — next-cloudinary's props, unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudinary.utils
import httpx
import pytest
import pyvips

from tests.support import CHROMIUM, CHROMIUM_ARGS, LiveServer, own_sqlite_server, web_origin

playwright_sync = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
COMPONENT = ROOT / "docs" / "examples" / "next" / "CldUploadWidget.jsx"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (make test installs it)"),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (make test installs it)"),
]

APP = """
import {{ useState }} from "react";
import {{ createRoot }} from "react-dom/client";
import {{ CldUploadWidget }} from {component};

function App() {{
  const [info, setInfo] = useState(null);
  const [ends, setEnds] = useState(0);
  return (
    <main>
      <CldUploadWidget
        darkroomUrl={darkroom}
        config={{{{ cloud: {{ cloudName: {cloud}, apiKey: {api_key} }} }}}}
        signatureEndpoint="/api/sign"
        options={{{{ sources: ["local"], folder: "react-app", tags: ["from-react"] }}}}
        onSuccess={{(result, {{ widget }}) => setInfo({{ ...result.info, event: result.event, hasWidget: Boolean(widget) }})}}
        onQueuesEnd={{() => setEnds((n) => n + 1)}}
      >
        {{({{ open, isLoading }}) => <button id="open" disabled={{isLoading}} onClick={{() => open()}}>Upload an image</button>}}
      </CldUploadWidget>
      <pre id="info">{{info ? JSON.stringify(info) : ""}}</pre>
      <output id="ends">{{ends}}</output>
    </main>
  );
}}

createRoot(document.getElementById("root")).render(<App />);
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from own_sqlite_server(tmp_path_factory, "darkroom-react")


@pytest.fixture(scope="module")
def react_app(live: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The app's origin (its page, its bundled script, its own /api/sign) and what that route signed."""
    folder = tmp_path_factory.mktemp("react-app")
    entry, bundle = folder / "app.jsx", folder / "app.js"
    entry.write_text(APP.format(component=json.dumps(str(COMPONENT)), darkroom=json.dumps(live.base_url),
                                cloud=json.dumps(live.cloud), api_key=json.dumps(live.api_key)))
    subprocess.run(["node", str(NODE_DIR / "bundle_react_app.mjs"), str(entry), str(bundle)], cwd=NODE_DIR, check=True, timeout=120)
    page = b'<!doctype html><html><head><meta charset="utf-8"><title>A Next.js app</title></head><body><div id="root"></div><script src="/app.js"></script></body></html>'
    script = bundle.read_bytes()
    signed: list[dict[str, Any]] = []

    def answer(method: str, target: str, body: bytes) -> tuple[int, str, bytes]:
        if method == "POST":  # the app's /api/sign
            params = json.loads(body)["paramsToSign"]
            signed.append(params)
            return 200, "application/json", json.dumps({"signature": cloudinary.utils.api_sign_request(params, live.api_secret)}).encode()
        return (200, "application/javascript", script) if target == "/app.js" else (200, "text/html", page)

    with web_origin(answer) as origin:
        yield origin, signed


def test_react_component_uploads_through_the_apps_signature_endpoint(live: LiveServer, react_app: tuple[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    origin, signed = react_app
    picture = tmp_path / "react.png"
    pyvips.Image.black(90, 60, bands=3).add([10, 120, 200]).cast("uchar").pngsave(str(picture))
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page()
            tab.set_default_timeout(15_000)
            elsewhere: list[str] = []
            tab.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith((origin, live.base_url, "data:", "blob:")) else None)
            tab.goto(origin)
            tab.click("#open:not([disabled])")
            tab.set_input_files("[data-drw=file-input]", str(picture))
            tab.wait_for_function("() => document.getElementById('info').textContent !== ''")
            tab.wait_for_function("() => document.getElementById('ends').textContent === '1'")
            info = json.loads(tab.inner_text("#info"))
        finally:
            browser.close()
    assert elsewhere == []  # darkroom's script only: nothing from Cloudinary's CDN
    assert info["event"] == "success" and info["hasWidget"] is True
    assert info["public_id"].startswith("react-app/") and info["tags"] == ["from-react"]
    assert (info["width"], info["height"]) == (90, 60)
    assert [params["folder"] for params in signed] == ["react-app"]  # signed by the app's route, not in the page
    assert httpx.get(info["url"]).status_code == 200
