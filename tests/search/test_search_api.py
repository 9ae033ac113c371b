"""The Search API through the SDK's `Search` and `SearchFolders` builders, on a live server (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import httpx
import pytest
from cloudinary.exceptions import AuthorizationRequired, BadRequest
from cloudinary.search import Search
from cloudinary.search_folders import SearchFolders

from tests.admin.conftest import AdminCloud, png  # noqa: F401 - fixtures shared with the Admin tests
from tests.admin.conftest import cloud  # noqa: F401


@pytest.fixture
def library(cloud: AdminCloud, png: Path) -> AdminCloud:  # noqa: F811
    upload = cloudinary.uploader.upload
    upload(str(png), public_id="next-cloudinary-uploads/beach", tags=["beach", "kitten"], asset_folder="next-cloudinary-uploads",
           context={"alt": "sunset on the beach"})
    upload(str(png), public_id="next-cloudinary-uploads/dune", tags=["beach"], asset_folder="next-cloudinary-uploads")
    upload(str(png), public_id="next-cloudinary-uploads/sub/deep", tags=["kitten"], asset_folder="next-cloudinary-uploads/sub")
    upload(str(png), public_id="products/shirt", tags=["shirt", "blue shirt"], asset_folder="products")
    return cloud


def ids(result: dict) -> list[str]:
    return [r["public_id"] for r in result["resources"]]


def test_seed_gallery_query_answers_as_cloudinary(library: AdminCloud) -> None:
    result = (Search().expression("folder=next-cloudinary-uploads").sort_by("created_at", "desc")
              .with_field("tags").max_results(100).execute())
    assert result["total_count"] == 2
    assert sorted(ids(result)) == ["next-cloudinary-uploads/beach", "next-cloudinary-uploads/dune"]
    assert "time" in result and "next_cursor" not in result
    item = result["resources"][0]
    assert {"asset_id", "public_id", "folder", "asset_folder", "filename", "format", "version", "resource_type", "type",
            "created_at", "uploaded_at", "bytes", "width", "height", "aspect_ratio", "pixels", "status", "access_mode",
            "etag", "url", "secure_url", "tags"} <= set(item)
    assert "context" not in item


def test_expression_language_on_the_wire(library: AdminCloud) -> None:
    assert sorted(ids(Search().expression("folder:next-cloudinary-uploads/*").execute())) == [
        "next-cloudinary-uploads/beach", "next-cloudinary-uploads/dune", "next-cloudinary-uploads/sub/deep"]
    assert sorted(ids(Search().expression("tags:shirt").execute())) == ["products/shirt"]
    assert sorted(ids(Search().expression("tags=kitten AND -folder=next-cloudinary-uploads").execute())) == [
        "next-cloudinary-uploads/sub/deep"]
    assert ids(Search().expression("sunset").execute()) == ["next-cloudinary-uploads/beach"]
    assert Search().expression("uploaded_at>1d AND resource_type:image").execute()["total_count"] == 4
    assert Search().expression("created_at<1d").execute()["total_count"] == 0


def test_context_is_flat_and_with_fields_add_keys(library: AdminCloud) -> None:
    item = Search().expression("public_id=next-cloudinary-uploads/beach").with_field("context").with_field("metadata").execute()["resources"][0]
    assert item["context"] == {"alt": "sunset on the beach"}
    assert item["metadata"] == {}


def test_fields_narrow_the_reply(library: AdminCloud) -> None:
    item = Search().expression("products").fields("bytes").execute()["resources"][0]
    assert set(item) == {"asset_id", "public_id", "asset_folder", "bytes"}  # Cloudinary always adds identity and folder


def test_sort_and_paging_cover_every_match_once(library: AdminCloud) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        search = Search().sort_by("public_id", "asc").max_results(3)
        result = (search.next_cursor(cursor) if cursor else search).execute()
        assert result["total_count"] == 4
        seen += ids(result)
        cursor = result.get("next_cursor")
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == 4


def test_aggregations(library: AdminCloud) -> None:
    result = (Search().expression("resource_type:image").aggregate("format")
              .aggregate({"type": "bytes", "ranges": [{"key": "small", "to": 100_000}, {"key": "big", "from": 100_000}]})
              .execute())
    assert result["aggregations"]["format"] == {"png": 4}
    assert result["aggregations"]["bytes"] == {"small": 4, "big": 0}


def test_total_count_from_an_aggregation_is_exact_on_every_page(library: AdminCloud) -> None:
    first = Search().expression("resource_type:image").aggregate("format").max_results(1).execute()
    assert first["total_count"] == 4 and first["aggregations"]["format"] == {"png": 4}
    second = Search().expression("resource_type:image").aggregate("type").max_results(1).next_cursor(first["next_cursor"]).execute()
    assert second["total_count"] == 4 and second["aggregations"]["type"] == {"upload": 4}
    assert ids(second) != ids(first)


def test_malformed_expression_is_400_naming_the_position(library: AdminCloud) -> None:
    with pytest.raises(BadRequest, match="at position 10"):
        Search().expression("tags=cat (").execute()
    with pytest.raises(BadRequest, match="unknown field 'colour'"):
        Search().expression("colour:red").execute()


def test_bad_sort_and_cursor_are_400(library: AdminCloud) -> None:
    with pytest.raises(BadRequest):
        Search().sort_by("nonsense", "asc").execute()
    with pytest.raises(BadRequest):
        Search().next_cursor("garbage!").execute()


def test_search_needs_credentials(library: AdminCloud) -> None:
    with pytest.raises(AuthorizationRequired):
        Search().expression("x").execute(api_secret="wrong")


def test_get_search_with_query_parameters(library: AdminCloud) -> None:
    server = library.server
    response = httpx.get(f"{server.base_url}/v1_1/{server.cloud}/resources/search",
                         params={"expression": "tags=kitten", "max_results": "1"}, auth=(server.api_key, server.api_secret))
    body = response.json()
    assert response.status_code == 200 and body["total_count"] == 2 and len(body["resources"]) == 1 and body["next_cursor"]


def test_signed_search_url_is_served(library: AdminCloud) -> None:
    url = Search().expression("tags=kitten").max_results(1).to_url(ttl=60)
    assert url.startswith(f"http://{library.server.host}/{library.server.cloud}/search/")
    first = httpx.get(url)
    assert first.status_code == 200 and first.json()["total_count"] == 2
    assert "max-age=60" in first.headers["cache-control"]
    second = httpx.get(Search().expression("tags=kitten").max_results(1).to_url(ttl=60, next_cursor=first.json()["next_cursor"]))
    assert {r["public_id"] for r in first.json()["resources"] + second.json()["resources"]} == {
        "next-cloudinary-uploads/beach", "next-cloudinary-uploads/sub/deep"}
    tampered = url.replace("/60/", "/61/")
    assert httpx.get(tampered).status_code == 401


def test_folder_search(library: AdminCloud) -> None:
    cloudinary.api.create_folder("empty")
    result = SearchFolders().expression("name:sub OR path=products").execute()
    assert sorted(f["path"] for f in result["folders"]) == ["next-cloudinary-uploads/sub", "products"]
    everything = SearchFolders().execute()
    assert everything["total_count"] == 4
    with pytest.raises(BadRequest):
        SearchFolders().expression("bytes>1").execute()


def test_folder_search_by_created_at(library: AdminCloud) -> None:
    """A folder made by its assets dates from its earliest asset; one made by create_folder from then."""
    import sqlalchemy as sa

    from darkroom.catalog.schema import assets

    with library.engine.begin() as conn:
        conn.execute(sa.update(assets).where(assets.c.cloud == library.server.cloud, assets.c.asset_folder == "products")
                     .values(created_at=datetime(2020, 1, 1, 12, tzinfo=UTC)))
    cloudinary.api.create_folder("fresh")
    old = SearchFolders().expression("created_at<1y").execute()
    assert [(f["path"], f["created_at"]) for f in old["folders"]] == [("products", "2020-01-01T12:00:00Z")]
    assert [f["path"] for f in SearchFolders().expression("created_at:2020-01-01").execute()["folders"]] == ["products"]
    assert [f["path"] for f in SearchFolders().expression("created_at:[2019-12-01 TO 2020-01-31]").execute()["folders"]] == ["products"]
    recent = SearchFolders().expression("created_at>1d AND name:fresh OR path=next-cloudinary-uploads").execute()
    assert sorted(f["path"] for f in recent["folders"]) == ["fresh", "next-cloudinary-uploads"]
    with pytest.raises(BadRequest):
        SearchFolders().expression("created_at>yesterday").execute()


def test_metadata_search_types_values_by_field_definition(library: AdminCloud) -> None:
    cloudinary.api.add_metadata_field({"type": "integer", "external_id": "score", "label": "Score"})
    cloudinary.api.add_metadata_field({"type": "string", "external_id": "code", "label": "Code"})
    cloudinary.api.update("products/shirt", metadata={"score": 9, "code": "10"})
    cloudinary.api.update("next-cloudinary-uploads/dune", metadata={"score": 10, "code": "9"})
    assert ids(Search().expression("metadata.score>9").execute()) == ["next-cloudinary-uploads/dune"]
    assert ids(Search().expression("metadata.code>5").execute()) == ["next-cloudinary-uploads/dune"]  # "9" > "5" as text
    assert ids(Search().expression("metadata.code=10").execute()) == ["products/shirt"]
