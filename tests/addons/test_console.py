"""The console's asset page shows the add-ons' findings: moderation with approve/reject, tags
with their source, faces and OCR text."""

from __future__ import annotations

import time
from pathlib import Path

from tests.console.conftest import Console, console  # noqa: F401 - the console's fixture, reused


def _upload(console: Console, path: Path, **extra: str) -> dict:  # type: ignore[type-arg]
    csrf = console.csrf()
    params = {"timestamp": int(time.time()), **extra}
    signed = console.client.post("/console/api/sign", json={"paramsToSign": params}, headers={"X-CSRF-Token": csrf}).json()
    form = {**{k: str(v) for k, v in params.items()}, "signature": signed["signature"], "api_key": signed["apiKey"]}
    response = console.client.post(f"/v1_1/{console.cloud}/image/upload", data=form, files={"file": (path.name, path.read_bytes(), "image/jpeg")})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_asset_page_approves_a_pending_asset(console: Console, coffee: Path) -> None:  # noqa: F811 - the fixture
    console.sign_in()
    uploaded = _upload(console, coffee, moderation="manual", face_coordinates="10,20,30,40")
    page_url = f"/console/assets/image/upload/{uploaded['public_id']}"
    page = console.client.get(page_url).text
    assert 'class="moderation-status">pending' in page and "10,20,30,40" in page
    approved = console.client.post(page_url, data={"csrf_token": console.csrf(), "moderation_status": "approved"})
    assert approved.status_code == 200 and 'class="moderation-status">approved' in approved.text
    forged = console.client.post(page_url, data={"csrf_token": "forged", "moderation_status": "rejected"})
    assert forged.status_code == 403
    assert 'class="moderation-status">approved' in console.client.get(page_url).text


def test_asset_page_marks_auto_tags(console: Console, astronaut: Path) -> None:  # noqa: F811 - the fixture
    console.sign_in()
    uploaded = _upload(console, astronaut, categorization="google_tagging", auto_tagging="0.5", tags="mine")
    page = console.client.get(f"/console/assets/image/upload/{uploaded['public_id']}").text
    assert 'title="auto-tagging: google_tagging' in page
    assert ">mine</span>" in page


def test_lightbox_offers_background_removal_and_upscale_only_with_their_models(console: Console, tmp_path: Path) -> None:  # noqa: F811
    from darkroom.media.effect_presets import available_effects

    from addons import models

    console.sign_in()
    offered = console.client.get("/console").text
    assert '"e_background_removal"' not in offered and '"e_upscale"' not in offered
    models.upscale(tmp_path / "upscale.onnx")
    models.matting(tmp_path / "matting.onnx")
    assert {"e_upscale", "e_background_removal"} <= {preset["effect"] for preset in available_effects(tmp_path)}
