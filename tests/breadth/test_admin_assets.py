"""Admin API breadth through the official Python SDK (both databases): analysis fields on the
resource GET, related assets, publishing, access mode, visual search."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips
from cloudinary.exceptions import BadRequest

from tests.breadth.conftest import AdminCloud


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    """A red/green split, the same at half size, a blue square with a white disc, a 4-frame GIF
    where only a small square blinks."""
    made: dict[str, Path] = {}
    split = (pyvips.Image.black(80, 60) + [230, 20, 20]).cast("uchar").insert((pyvips.Image.black(40, 60) + [20, 150, 20]).cast("uchar"), 40, 0)
    split.write_to_file(str(made.setdefault("split", tmp_path / "split.png")))
    split.resize(0.5).write_to_file(str(made.setdefault("split_small", tmp_path / "split_small.png")))
    disc = pyvips.Image.black(80, 80).draw_circle(255, 40, 40, 25, fill=True)
    blue = (pyvips.Image.black(80, 80) + [20, 40, 200]).cast("uchar")
    disc.ifthenelse([255, 255, 255], blue).cast("uchar").write_to_file(str(made.setdefault("disc", tmp_path / "disc.png")))
    frames = []
    for index in range(4):
        frame = (pyvips.Image.black(60, 60) + [120, 120, 120]).cast("uchar")
        if index % 2:
            frame = frame.draw_rect([255, 255, 0], 5, 5, 12, 12, fill=True)
        frames.append(frame)
    gif = pyvips.Image.arrayjoin(frames, across=1).copy()
    gif.set_type(pyvips.GValue.gint_type, "page-height", 60)
    gif.write_to_file(str(made.setdefault("loop", tmp_path / "loop.gif")))
    return made


def test_resource_get_answers_the_analysis_fields(cloud: AdminCloud, pictures: dict[str, Path]) -> None:
    cloudinary.uploader.upload(str(pictures["split"]), public_id="analysed")
    detail = cloudinary.api.resource("analysed", quality_analysis=True, accessibility_analysis=True, cinemagraph_analysis=True,
                                     colors=True, faces=True, phash=True, coordinates=True, media_metadata=True)
    assert 0 <= detail["quality_analysis"]["focus"] <= 1
    access = detail["accessibility_analysis"]
    assert 0 <= access["colorblind_accessibility_score"] <= 1
    assert set(access["colorblind_accessibility_analysis"]) >= {"distinct_edges", "distinct_colors"}
    assert detail["cinemagraph_analysis"] == {"cinemagraph_score": 0.0}  # a still picture
    assert sorted(c[0] for c in detail["colors"][:2]) == ["#149614", "#E61414"]  # half each
    assert re.fullmatch(r"[0-9a-f]{16}", detail["phash"]) and detail["faces"] == []
    assert detail["coordinates"] == {"faces": [], "custom": []} and isinstance(detail["image_metadata"], dict)
    assert "quality_analysis" not in cloudinary.api.resource("analysed")  # only when asked
    cloudinary.uploader.upload(str(pictures["loop"]), public_id="loop")
    assert cloudinary.api.resource("loop", cinemagraph_analysis=True)["cinemagraph_analysis"]["cinemagraph_score"] > 0.5


def test_related_assets_both_ways_by_public_id_and_asset_id(cloud: AdminCloud, pictures: dict[str, Path]) -> None:
    first = cloudinary.uploader.upload(str(pictures["split"]), public_id="rel/one")
    second = cloudinary.uploader.upload(str(pictures["disc"]), public_id="rel/two")
    third = cloudinary.uploader.upload(str(pictures["disc"]), public_id="rel/three")
    added = cloudinary.api.add_related_assets("rel/one", ["image/upload/rel/two", "image/upload/missing"])
    assert [s["asset"] for s in added["success"]] == ["image/upload/rel/two"]
    assert [f["asset"] for f in added["failed"]] == ["image/upload/missing"]
    cloudinary.api.add_related_assets_by_asset_ids(first["asset_id"], [third["asset_id"]])
    related = cloudinary.api.resource("rel/one", related=True)["related_assets"]
    assert [r["public_id"] for r in related] == ["rel/two", "rel/three"]
    assert [r["asset_id"] for r in cloudinary.api.resource("rel/two", related=True)["related_assets"]] == [first["asset_id"]]
    cloudinary.api.delete_related_assets("rel/one", ["image/upload/rel/two"])
    cloudinary.api.delete_related_assets_by_asset_ids(first["asset_id"], [third["asset_id"]])
    assert cloudinary.api.resource("rel/one", related=True)["related_assets"] == []
    assert cloudinary.api.resource("rel/two", related=True)["related_assets"] == [] and second["asset_id"]


def test_publish_by_ids_prefix_and_tag_makes_private_assets_public(cloud: AdminCloud, pictures: dict[str, Path]) -> None:
    for name in ("pub/a", "pub/b", "tagged"):
        cloudinary.uploader.upload(str(pictures["disc"]), public_id=name, type="private", tags=["go"] if name == "tagged" else [])
    published = cloudinary.api.publish_by_ids(["pub/a", "nothing"], type="private")
    assert [p["public_id"] for p in published["published"]] == ["pub/a"] and published["published"][0]["type"] == "upload"
    assert published["failed"] == [{"public_id": "nothing", "error": "Resource not found"}]
    assert httpx.get(published["published"][0]["url"]).status_code == 200
    assert [p["public_id"] for p in cloudinary.api.publish_by_prefix("pub/", type="private")["published"]] == ["pub/b"]
    assert [p["public_id"] for p in cloudinary.api.publish_by_tag("go", type="private")["published"]] == ["tagged"]
    assert cloudinary.api.resource("pub/b")["type"] == "upload"


def test_access_mode_updates_through_update_and_the_bulk_endpoint(cloud: AdminCloud, pictures: dict[str, Path]) -> None:
    cloudinary.uploader.upload(str(pictures["disc"]), public_id="am/one", tags=["am"])
    cloudinary.uploader.upload(str(pictures["disc"]), public_id="am/two")
    server = cloud.server
    # The Python SDK's update() drops access_mode; the Node SDK sends it form-encoded, as here.
    one = httpx.post(f"{server.base_url}/v1_1/{server.cloud}/resources/image/upload/am/one",
                     data={"access_mode": "authenticated"}, auth=(server.api_key, server.api_secret))
    assert one.status_code == 200 and one.json()["access_mode"] == "authenticated"
    answer = httpx.post(f"{server.base_url}/v1_1/{server.cloud}/resources/image/upload/update_access_mode",
                        data={"access_mode": "authenticated", "prefix": "am/"}, auth=(server.api_key, server.api_secret))
    assert answer.status_code == 200
    assert answer.json()["updated"] == [{"public_id": "am/one", "access_mode": "authenticated"},
                                        {"public_id": "am/two", "access_mode": "authenticated"}]
    back = httpx.post(f"{server.base_url}/v1_1/{server.cloud}/resources/image/upload/update_access_mode",
                      data={"access_mode": "public", "tag": "am"}, auth=(server.api_key, server.api_secret))
    assert [u["public_id"] for u in back.json()["updated"]] == ["am/one"]
    assert cloudinary.api.resource("am/one")["access_mode"] == "public"
    refused = httpx.post(f"{server.base_url}/v1_1/{server.cloud}/resources/image/upload/update_access_mode",
                         data={"access_mode": "secret", "prefix": "am/"}, auth=(server.api_key, server.api_secret))
    assert refused.status_code == 400 and "access_mode" in refused.json()["error"]["message"]


def test_visual_search_ranks_indexed_images_by_likeness(cloud: AdminCloud, pictures: dict[str, Path],
                                                        file_server: tuple[str, Path, dict[str, str]]) -> None:
    split = cloudinary.uploader.upload(str(pictures["split"]), public_id="vs/split", visual_search=True)
    cloudinary.uploader.upload(str(pictures["disc"]), public_id="vs/disc", visual_search=True)
    cloudinary.uploader.upload(str(pictures["split"]), public_id="vs/unindexed")
    by_file = cloudinary.api.visual_search(image_file=str(pictures["split_small"]))["resources"]
    assert [r["public_id"] for r in by_file] == ["vs/split", "vs/disc"]  # the unindexed one is not searched
    by_asset = cloudinary.api.visual_search(image_asset_id=split["asset_id"])["resources"]
    assert by_asset[0]["public_id"] == "vs/split"
    base, folder, _ = file_server
    (folder / "query.png").write_bytes(pictures["disc"].read_bytes())
    by_url = cloudinary.api.visual_search(image_url=f"{base}/query.png")["resources"]
    assert by_url[0]["public_id"] == "vs/disc"
    with pytest.raises(BadRequest, match="text"):
        cloudinary.api.visual_search(text="a red square")
    assert json.dumps(by_url)  # plain JSON resources


def _signed_upload(cloud: AdminCloud, picture: Path, **params: str) -> httpx.Response:
    """A signed upload with parameters as the Node SDK sends them (the Python SDK drops access_mode)."""
    server = cloud.server
    signed = {"timestamp": str(int(time.time())), **params}
    form = {**signed, "signature": cloudinary.utils.api_sign_request(signed, server.api_secret), "api_key": server.api_key}
    return httpx.post(f"{server.base_url}/v1_1/{server.cloud}/image/upload", data=form, files={"file": picture.read_bytes()})


def test_an_upload_with_access_mode_authenticated_is_delivered_to_signed_urls_only(cloud: AdminCloud, pictures: dict[str, Path]) -> None:
    first = _signed_upload(cloud, pictures["disc"], public_id="born-locked", access_mode="authenticated")
    assert first.status_code == 200 and first.json()["access_mode"] == "authenticated", first.text
    plain = cloudinary.utils.cloudinary_url("born-locked", format="png")[0]
    signed = cloudinary.utils.cloudinary_url("born-locked", format="png", sign_url=True)[0]
    assert httpx.get(plain).status_code == 401 and httpx.get(signed).status_code == 200
    # A new version that does not say keeps it locked; one that says public opens it.
    again = _signed_upload(cloud, pictures["split"], public_id="born-locked", overwrite="true")
    assert again.json()["access_mode"] == "authenticated" and httpx.get(plain).status_code == 401
    opened = _signed_upload(cloud, pictures["split"], public_id="born-locked", overwrite="true", access_mode="public")
    assert opened.json()["access_mode"] == "public" and httpx.get(plain).status_code == 200
    refused = _signed_upload(cloud, pictures["disc"], public_id="never-stored", access_mode="secret")
    assert refused.status_code == 400 and refused.json()["error"]["message"] == "Invalid access_mode - secret"
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("never-stored")


def test_access_control_embargoes_and_windows_decide_who_gets_an_asset(cloud: AdminCloud, pictures: dict[str, Path]) -> None:
    later = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reply = cloudinary.uploader.upload(str(pictures["disc"]), public_id="embargoed", access_control=[{"access_type": "anonymous", "start": later}])
    assert reply["access_control"] == [{"access_type": "anonymous", "start": later}]
    plain = cloudinary.utils.cloudinary_url("embargoed", format="png")[0]
    derived = cloudinary.utils.cloudinary_url("embargoed", format="png", width=20, crop="scale")[0]
    signed = cloudinary.utils.cloudinary_url("embargoed", format="png", sign_url=True)[0]
    assert httpx.get(plain).status_code == httpx.get(derived).status_code == 401  # not before its start
    assert httpx.get(signed).status_code == 200
    # A new version that names no rules keeps them.
    cloudinary.uploader.upload(str(pictures["split"]), public_id="embargoed", overwrite=True)
    assert httpx.get(plain).status_code == 401
    # Open for an hour: public, and no cache may keep it past the end.
    opened = cloudinary.api.update("embargoed", access_control=[{"access_type": "anonymous", "start": earlier, "end": soon}])
    assert opened["access_control"][0]["end"] == soon
    answer = httpx.get(plain)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "public, max-age=300"
    cloudinary.api.update("embargoed", access_control=[{"access_type": "anonymous", "end": earlier}])  # over
    assert httpx.get(plain).status_code == 401
    cleared = cloudinary.api.update("embargoed", access_control=[])
    assert "access_control" not in cleared and httpx.get(plain).status_code == 200
    with pytest.raises(BadRequest, match="Invalid access_control - start must be before end"):
        cloudinary.uploader.upload(str(pictures["disc"]), public_id="never-embargoed", access_control=[{"access_type": "anonymous", "start": later, "end": earlier}])
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("never-embargoed")


def test_an_authenticated_access_mode_needs_a_signed_url(cloud: AdminCloud, pictures: dict[str, Path]) -> None:
    cloudinary.uploader.upload(str(pictures["disc"]), public_id="locked")
    plain = cloudinary.utils.cloudinary_url("locked", format="png")[0]
    assert httpx.get(plain).status_code == 200
    server = cloud.server
    changed = httpx.post(f"{server.base_url}/v1_1/{server.cloud}/resources/image/upload/update_access_mode",
                         data={"access_mode": "authenticated", "public_ids[]": "locked"}, auth=(server.api_key, server.api_secret))
    assert changed.json()["updated"] == [{"public_id": "locked", "access_mode": "authenticated"}]
    assert httpx.get(plain).status_code == 401
    signed = cloudinary.utils.cloudinary_url("locked", format="png", sign_url=True)[0]
    assert httpx.get(signed).status_code == 200
    cloudinary.api.publish_by_ids(["locked"])  # publishing makes it public again
    assert httpx.get(plain).status_code == 200
