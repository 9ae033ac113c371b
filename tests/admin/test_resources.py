"""Admin API over assets, driven by the official SDK against a live server (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import sqlalchemy as sa
from cloudinary.exceptions import AuthorizationRequired, BadRequest, NotFound

from darkroom.catalog.schema import assets, derived
from tests.admin.conftest import AdminCloud


def upload(png: Path, public_id: str, **options: object) -> dict:
    return cloudinary.uploader.upload(str(png), public_id=public_id, **options)


def test_ping_answers_ok_with_rate_limit_headers(cloud: AdminCloud) -> None:
    result = cloudinary.api.ping()
    assert result == {"status": "ok"}
    assert result.rate_limit_allowed > 0
    assert 0 <= result.rate_limit_remaining <= result.rate_limit_allowed
    assert result.rate_limit_reset_at is not None
    assert result.request_id


def test_wrong_secret_is_401(cloud: AdminCloud) -> None:
    with pytest.raises(AuthorizationRequired, match="api_secret mismatch"):
        cloudinary.api.ping(api_secret="not-the-secret")


def test_unknown_key_is_401_naming_it(cloud: AdminCloud) -> None:
    with pytest.raises(AuthorizationRequired, match="Invalid api_key 999"):
        cloudinary.api.resources(api_key="999")


def test_key_of_another_cloud_is_401(cloud: AdminCloud) -> None:
    with pytest.raises(AuthorizationRequired):
        cloudinary.api.ping(cloud_name="someone-else")


def test_missing_auth_is_401_json(cloud: AdminCloud) -> None:
    response = httpx.get(f"{cloud.server.base_url}/v1_1/{cloud.server.cloud}/ping")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Must supply api_key"


def test_empty_api_key_is_missing_not_unknown(cloud: AdminCloud) -> None:
    response = httpx.get(f"{cloud.server.base_url}/v1_1/{cloud.server.cloud}/ping", auth=("", cloud.server.api_secret))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Must supply api_key"


def test_resource_types_and_config(cloud: AdminCloud) -> None:
    assert cloudinary.api.resource_types()["resource_types"] == ["image", "raw", "video"]
    assert cloudinary.api.config()["cloud_name"] == cloud.server.cloud
    assert cloudinary.api.config(settings=True)["settings"]["folder_mode"] == "dynamic"


def test_listing_is_newest_first_and_includes_flags_only_when_asked(cloud: AdminCloud, png: Path) -> None:
    upload(png, "list/a", tags=["t1"], context={"alt": "A"})
    upload(png, "list/b")
    plain = cloudinary.api.resources(max_results=10)["resources"]
    assert [r["public_id"] for r in plain] == ["list/b", "list/a"]
    assert "tags" not in plain[0] and "context" not in plain[0]
    assert {"asset_id", "public_id", "format", "version", "resource_type", "type", "created_at", "bytes", "width",
            "height", "url", "secure_url"} <= set(plain[0])
    rich = cloudinary.api.resources(tags=True, context=True, prefix="list/a")["resources"]
    assert rich[0]["tags"] == ["t1"] and rich[0]["context"] == {"custom": {"alt": "A"}}
    narrowed = cloudinary.api.resources(fields=["bytes"])["resources"][0]
    assert set(narrowed) == {"asset_id", "public_id", "asset_folder", "bytes"}  # Cloudinary always adds identity and folder


def test_prefix_listing_goes_by_public_id(cloud: AdminCloud, png: Path) -> None:
    for name in ("p/c", "p/a", "q/z", "p/b"):
        upload(png, name)
    listed = cloudinary.api.resources(type="upload", prefix="p/")["resources"]
    assert [r["public_id"] for r in listed] == ["p/a", "p/b", "p/c"]
    backwards = cloudinary.api.resources(type="upload", prefix="p/", direction="desc")["resources"]
    assert [r["public_id"] for r in backwards] == ["p/c", "p/b", "p/a"]


def _insert(cloud: AdminCloud, public_id: str, created_at: datetime) -> None:
    with cloud.engine.begin() as conn:
        conn.execute(sa.insert(assets).values(
            cloud=cloud.server.cloud, asset_id=f"{abs(hash((cloud.server.cloud, public_id))):032x}"[:32],
            resource_type="image", type="upload", public_id=public_id, folder="", filename=public_id,
            version=1, version_id="0" * 32, format="png", bytes=10, width=1, height=1, storage_key=f"x/{public_id}",
            created_at=created_at, uploaded_at=created_at, context={}, metadata={},
        ))


def test_pagination_has_no_duplicates_or_gaps_while_assets_are_added(cloud: AdminCloud) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(25):
        _insert(cloud, f"page/{i:03d}", base.replace(minute=i % 5))  # many share a created_at
    seen: list[str] = []
    cursor = None
    while True:
        page = cloudinary.api.resources(max_results=7, next_cursor=cursor) if cursor else cloudinary.api.resources(max_results=7)
        seen += [r["public_id"] for r in page["resources"]]
        _insert(cloud, f"late/{len(seen):03d}", datetime.now(UTC))  # newer than everything: sorts before the cursor
        cursor = page.get("next_cursor")
        if not cursor:
            break
    originals = [s for s in seen if s.startswith("page/")]
    assert len(originals) == len(set(originals)) == 25


def test_resources_by_ids_and_asset_ids(cloud: AdminCloud, png: Path) -> None:
    first = upload(png, "ids/one")
    upload(png, "ids/two")
    by_ids = cloudinary.api.resources_by_ids(["ids/two", "ids/one", "ids/missing"])["resources"]
    assert [r["public_id"] for r in by_ids] == ["ids/two", "ids/one"]
    single = cloudinary.api.resources_by_ids("ids/one")["resources"]
    assert [r["public_id"] for r in single] == ["ids/one"]
    by_asset = cloudinary.api.resources_by_asset_ids([first["asset_id"]])["resources"]
    assert [r["public_id"] for r in by_asset] == ["ids/one"]


def test_resources_by_tag_context_moderation_and_folder(cloud: AdminCloud, png: Path) -> None:
    upload(png, "f/cat", tags=["animal", "a/b"], context={"mood": "happy"}, asset_folder="pets")
    upload(png, "f/dog", tags=["animal"], context={"mood": "sad"})
    upload(png, "f/car", tags=["thing"])
    assert {r["public_id"] for r in cloudinary.api.resources_by_tag("animal")["resources"]} == {"f/cat", "f/dog"}
    assert [r["public_id"] for r in cloudinary.api.resources_by_tag("a/b")["resources"]] == ["f/cat"]
    assert {r["public_id"] for r in cloudinary.api.resources_by_context("mood")["resources"]} == {"f/cat", "f/dog"}
    assert [r["public_id"] for r in cloudinary.api.resources_by_context("mood", "sad")["resources"]] == ["f/dog"]
    assert [r["public_id"] for r in cloudinary.api.resources_by_asset_folder("pets")["resources"]] == ["f/cat"]
    cloudinary.api.update("f/car", moderation_status="rejected")
    rejected = cloudinary.api.resources_by_moderation("manual", "rejected")["resources"]
    assert [r["public_id"] for r in rejected] == ["f/car"]


def test_details_and_details_by_asset_id(cloud: AdminCloud, png: Path) -> None:
    uploaded = upload(png, "d/one", tags=["x"], context={"alt": "Alt"})
    detail = cloudinary.api.resource("d/one")
    assert detail["public_id"] == "d/one" and detail["asset_id"] == uploaded["asset_id"]
    assert detail["tags"] == ["x"] and detail["context"] == {"custom": {"alt": "Alt"}}
    assert detail["derived"] == []
    assert detail["width"] == 64 and detail["height"] == 48
    assert cloudinary.api.resource_by_asset_id(uploaded["asset_id"])["public_id"] == "d/one"


def test_unknown_resource_is_404_naming_it(cloud: AdminCloud) -> None:
    with pytest.raises(NotFound, match="Resource not found - nope/missing"):
        cloudinary.api.resource("nope/missing")


def test_update_changes_only_what_it_names(cloud: AdminCloud, png: Path) -> None:
    upload(png, "u/one", tags=["old"], context={"alt": "x"})
    result = cloudinary.api.update("u/one", tags=["new", "newer"], display_name="Shown", asset_folder="albums/2024",
                                   moderation_status="approved")
    assert sorted(result["tags"]) == ["new", "newer"]
    assert result["display_name"] == "Shown" and result["asset_folder"] == "albums/2024"
    assert result["context"] == {"custom": {"alt": "x"}}
    assert result["moderation"] == [{"kind": "manual", "status": "approved"}]
    replaced = cloudinary.api.update("u/one", context={"caption": "a=b|c"})
    assert replaced["context"] == {"custom": {"caption": "a=b|c"}}


def test_update_of_unknown_resource_is_404(cloud: AdminCloud) -> None:
    with pytest.raises(NotFound):
        cloudinary.api.update("missing/one", tags=["x"])


def test_delete_by_ids_reports_each_and_removes_the_blob(cloud: AdminCloud, png: Path) -> None:
    uploaded = upload(png, "del/one")
    assert httpx.get(uploaded["url"]).status_code == 200
    result = cloudinary.api.delete_resources(["del/one", "del/missing"])
    assert result["deleted"] == {"del/one": "deleted", "del/missing": "not_found"}
    assert result["deleted_counts"]["del/one"] == {"original": 1, "derived": 0}
    assert result["partial"] is False
    with pytest.raises(NotFound):
        cloudinary.api.resource("del/one")
    assert httpx.get(uploaded["url"]).status_code == 404


def test_delete_by_prefix_tag_asset_ids_and_all(cloud: AdminCloud, png: Path) -> None:
    upload(png, "bulk/a")
    upload(png, "bulk/b", tags=["doomed"])
    third = upload(png, "other/c")
    upload(png, "other/d")
    assert set(cloudinary.api.delete_resources_by_prefix("bulk/a")["deleted"]) == {"bulk/a"}
    assert cloudinary.api.delete_resources_by_tag("doomed")["deleted"] == {"bulk/b": "deleted"}
    assert cloudinary.api.delete_resources_by_asset_ids([third["asset_id"]])["deleted"] == {third["asset_id"]: "deleted"}
    assert cloudinary.api.delete_all_resources()["deleted"] == {"other/d": "deleted"}
    assert cloudinary.api.resources()["resources"] == []


def _add_derived(cloud: AdminCloud, public_id: str, transformation: str) -> int:
    with cloud.engine.begin() as conn:
        pk, version = conn.execute(sa.select(assets.c.id, assets.c.version).where(
            assets.c.cloud == cloud.server.cloud, assets.c.public_id == public_id)).one()
        return conn.execute(sa.insert(derived).values(
            asset_pk=pk, version=version, transformation=transformation, format="jpg",
            storage_key=f"{cloud.server.cloud}/derived/{pk}/{transformation}", bytes=99, created_at=datetime.now(UTC),
        )).inserted_primary_key[0]


def test_derived_resources_are_listed_and_deleted(cloud: AdminCloud, png: Path) -> None:
    upload(png, "der/one")
    cloudinary.uploader.explicit("der/one", type="upload", eager=[{"crop": "fill", "width": 100}, {"crop": "scale", "width": 50}])
    detail = cloudinary.api.resource("der/one")
    by_transformation = {d["transformation"]: d for d in detail["derived"]}
    assert set(by_transformation) == {"c_fill,w_100", "w_50"}  # recorded in canonical form
    assert {"transformation", "format", "bytes", "id", "url", "secure_url"} <= set(detail["derived"][0])
    first = str(by_transformation["c_fill,w_100"]["id"])
    assert cloudinary.api.delete_derived_resources([first])["deleted"] == {first: "deleted"}
    # Named as the SDK user wrote it: c_scale,w_50 is the same derivative as w_50.
    kept = cloudinary.api.delete_derived_by_transformation(["der/one"], [{"crop": "scale", "width": 50}])
    assert kept["deleted_counts"]["der/one"] == {"original": 0, "derived": 1}
    assert cloudinary.api.resource("der/one")["derived"] == []


def test_derivatives_of_a_named_transformation_are_deleted_by_its_name(cloud: AdminCloud, png: Path) -> None:
    upload(png, "der/named")
    cloudinary.api.create_transformation("der_thumb", "c_fill,w_40,h_40")
    delivered = httpx.get(cloudinary.utils.cloudinary_url("der/named", transformation="der_thumb", format="png")[0])
    assert delivered.status_code == 200
    recorded = []
    for _ in range(100):  # delivery answers first and records the derivative just after
        recorded = [d["transformation"] for d in cloudinary.api.resource("der/named")["derived"]]
        if recorded:
            break
        time.sleep(0.05)
    assert recorded == ["c_fill,h_40,w_40"]  # recorded expanded
    result = cloudinary.api.delete_derived_by_transformation(["der/named"], "t_der_thumb")
    assert result["deleted_counts"]["der/named"] == {"original": 0, "derived": 1}
    assert cloudinary.api.resource("der/named")["derived"] == []


def test_keep_original_drops_only_derivatives(cloud: AdminCloud, png: Path) -> None:
    upload(png, "keep/one")
    _add_derived(cloud, "keep/one", "w_10")
    result = cloudinary.api.delete_resources(["keep/one"], keep_original=True)
    assert result["deleted_counts"]["keep/one"] == {"original": 0, "derived": 1}
    assert cloudinary.api.resource("keep/one")["public_id"] == "keep/one"


def test_tags_listing_with_prefix_and_cursor(cloud: AdminCloud, png: Path) -> None:
    upload(png, "tg/one", tags=["apple", "apricot", "banana"])
    assert cloudinary.api.tags()["tags"] == ["apple", "apricot", "banana"]
    assert cloudinary.api.tags(prefix="ap")["tags"] == ["apple", "apricot"]
    first = cloudinary.api.tags(max_results=2)
    assert first["tags"] == ["apple", "apricot"]
    assert cloudinary.api.tags(max_results=2, next_cursor=first["next_cursor"])["tags"] == ["banana"]


def test_usage_counts_this_clouds_assets(cloud: AdminCloud, png: Path) -> None:
    upload(png, "use/one")
    report = cloudinary.api.usage()
    assert report["resources"] == 1
    assert report["storage"]["usage"] > 0
    assert {"plan", "last_updated", "transformations", "objects", "bandwidth", "requests", "derived_resources"} <= set(report)


def test_bad_max_results_is_400(cloud: AdminCloud) -> None:
    with pytest.raises(BadRequest):
        cloudinary.api.resources(max_results=501)


def test_start_at_filters_by_creation(cloud: AdminCloud) -> None:
    _insert(cloud, "old/one", datetime(2020, 1, 1, tzinfo=UTC))
    _insert(cloud, "new/one", datetime(2024, 1, 1, tzinfo=UTC))
    listed = cloudinary.api.resources(start_at="2023-01-01T00:00:00Z")["resources"]
    assert [r["public_id"] for r in listed] == ["new/one"]
