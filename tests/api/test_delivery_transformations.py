"""Transformation URLs built by the SDK, rendered by a live server: sizes, formats, headers, caching, strict mode."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips
import sqlalchemy as sa

from darkroom.media.lookups import LOOKUP_TTL
from darkroom.catalog import create_engine_for
from darkroom.catalog.schema import derived
from support import LiveServer, make_authenticated

T = TypeVar("T")

MAGIC = {b"\xff\xd8\xff": "jpg", b"\x89PNG": "png", b"GIF8": "gif"}


def sniff(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "avif"
    return next((fmt for magic, fmt in MAGIC.items() if data.startswith(magic)), "unknown")


def url_for(public_id: str, **options: object) -> str:
    return cloudinary.utils.cloudinary_url(public_id, **options)[0]


@pytest.fixture
def photo(cld: LiveServer, sample_jpg: Path) -> str:
    return str(cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/photo", overwrite=True)["public_id"])


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({"width": 100, "height": 100, "crop": "fill"}, (100, 100)),
        ({"width": 100, "crop": "scale"}, (100, 75)),
        ({"width": 100, "height": 100, "crop": "fit"}, (100, 75)),
        ({"width": 100, "height": 100, "crop": "pad"}, (100, 100)),
        ({"width": 400, "crop": "limit"}, (200, 150)),
        ({"width": 50, "height": 40, "crop": "crop", "gravity": "north_west"}, (50, 40)),
    ],
)
def test_crop_modes_give_exact_sizes(photo: str, options: dict[str, object], size: tuple[int, int]) -> None:
    response = httpx.get(url_for(photo, format="png", **options))
    assert response.status_code == 200, response.headers.get("x-cld-error")
    image = pyvips.Image.new_from_buffer(response.content, "")
    assert (image.width, image.height) == size


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "avif", "gif"])
def test_extension_converts_the_format(photo: str, fmt: str) -> None:
    response = httpx.get(url_for(photo, format=fmt))
    assert response.status_code == 200
    assert sniff(response.content) == fmt
    assert response.headers["content-type"] == {"jpg": "image/jpeg"}.get(fmt, f"image/{fmt}")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("image/avif,image/webp,*/*", "avif"), ("image/webp,*/*", "webp"), ("*/*", "jpg")],
)
def test_f_auto_follows_accept_and_varies(photo: str, accept: str, expected: str) -> None:
    response = httpx.get(url_for(photo, fetch_format="auto", width=80, crop="scale"), headers={"Accept": accept})
    assert sniff(response.content) == expected
    assert response.headers["vary"] == "Accept"


def test_etag_304_head_and_cache_control(photo: str) -> None:
    url = url_for(photo, width=60, crop="scale", format="jpg", version=1)
    first = httpx.get(url)
    assert "max-age=31536000" in first.headers["cache-control"]
    assert httpx.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    head = httpx.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(first.content) and not head.content


def test_attachment_flag_sets_content_disposition(photo: str) -> None:
    response = httpx.get(url_for(photo, width=60, crop="scale", flags="attachment", format="png"))
    assert response.headers["content-disposition"] == 'attachment; filename="photo.png"'


def test_bad_transformation_is_a_400_naming_the_parameter(photo: str) -> None:
    response = httpx.get(url_for(photo, width=60, crop="sideways", format="jpg"))
    assert response.status_code == 400
    assert "sideways" in response.headers["x-cld-error"]


def _derived_rows(server: LiveServer) -> list[sa.Row]:
    engine = create_engine_for(server.database_url)
    with engine.connect() as conn:
        rows = list(conn.execute(sa.select(derived.c.transformation, derived.c.version, derived.c.storage_key)))
    engine.dispose()
    return rows


def eventually(probe: Callable[[], T], seconds: float = 5.0) -> T:
    """`probe()`'s first truthy value: delivery stores a new derivative just after answering."""
    deadline = time.monotonic() + seconds
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def test_concurrent_requests_render_once_and_the_result_is_stored(cld: LiveServer, photo: str) -> None:
    url = url_for(photo, width=77, height=33, crop="fill", format="webp")

    async def fetch_all() -> list[httpx.Response]:
        async with httpx.AsyncClient() as client:
            return await asyncio.gather(*(client.get(url) for _ in range(8)))

    responses = asyncio.run(fetch_all())
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    rows = eventually(lambda: [row for row in _derived_rows(cld) if row.transformation == "c_fill,h_33,w_77"])
    assert len(rows) == 1


def test_a_new_version_never_serves_the_old_derivative(cld: LiveServer, sample_png: Path, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/versioned")
    url = url_for("delivery/versioned", width=40, crop="scale", format="png")
    before = httpx.get(url)
    assert pyvips.Image.new_from_buffer(before.content, "").height == 30  # 200x150 source
    cloudinary.uploader.upload(str(sample_png), public_id="delivery/versioned", overwrite=True)
    after = httpx.get(url)
    assert pyvips.Image.new_from_buffer(after.content, "").height == 27  # 120x80 source
    cloudinary.uploader.destroy("delivery/versioned")
    assert httpx.get(url).status_code == 404


def _darkroom(server: LiveServer, *args: str) -> None:
    env = {**server.env(), "DARKROOM_DATABASE_URL": server.database_url}
    subprocess.run([sys.executable, "-m", "darkroom", *args, "--data-dir", str(server.data_dir)], env=env, check=True, capture_output=True)


def test_signed_transformation_urls_are_checked(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/signed")
    good = url_for("delivery/signed", width=30, crop="scale", format="jpg", sign_url=True)
    assert httpx.get(good).status_code == 200
    forged = good.replace("w_30", "w_31")
    response = httpx.get(forged)
    assert response.status_code == 401 and response.headers["x-cld-error"]


def test_any_active_key_signs_urls_and_a_revoked_one_stops_within_the_lookup_ttl(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/second-key")
    created = subprocess.run(
        [sys.executable, "-m", "darkroom", "keys", "create", "--cloud", cld_sqlite.cloud, "--data-dir", str(cld_sqlite.data_dir)],
        env={**cld_sqlite.env(), "DARKROOM_DATABASE_URL": cld_sqlite.database_url}, check=True, capture_output=True, text=True,
    ).stdout
    second = dict(line.split("=", 1) for line in created.split())
    time.sleep(LOOKUP_TTL)  # the server may have read the cloud's keys just before the CLI added one

    def signed_by_second(width: int) -> str:
        return url_for("delivery/second-key", width=width, crop="scale", format="jpg", sign_url=True, api_secret=second["api_secret"])

    assert httpx.get(signed_by_second(31)).status_code == 200
    _darkroom(cld_sqlite, "keys", "revoke", second["api_key"])
    time.sleep(LOOKUP_TTL)
    refused = httpx.get(signed_by_second(32))
    assert refused.status_code == 401 and refused.headers["x-cld-error"] == "Invalid URL signature"
    assert httpx.get(url_for("delivery/second-key", width=32, crop="scale", format="jpg", sign_url=True)).status_code == 200


def test_strict_transformations_allow_only_signed_or_existing(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/strict")
    existing = url_for("delivery/strict", width=20, crop="scale", format="jpg")
    assert httpx.get(existing).status_code == 200
    eventually(lambda: [row for row in _derived_rows(cld_sqlite) if row.transformation == "c_scale,w_20"])
    _darkroom(cld_sqlite, "clouds", "set", cld_sqlite.cloud, "--strict")
    try:
        time.sleep(LOOKUP_TTL)  # the server may have read the setting just before the CLI changed it
        assert httpx.get(existing).status_code == 200  # already derived
        fresh = url_for("delivery/strict", width=21, crop="scale", format="jpg")
        refused = httpx.get(fresh)
        assert refused.status_code == 401 and "not allowed" in refused.headers["x-cld-error"]
        assert httpx.get(url_for("delivery/strict", width=21, crop="scale", format="jpg", sign_url=True)).status_code == 200
        assert httpx.get(url_for("delivery/strict", format="jpg")).status_code == 200  # the original itself
    finally:
        _darkroom(cld_sqlite, "clouds", "set", cld_sqlite.cloud, "--no-strict")
    time.sleep(LOOKUP_TTL)
    assert httpx.get(url_for("delivery/strict", width=22, crop="scale", format="jpg")).status_code == 200  # off again


def test_allowing_a_named_transformation_for_strict_applies_at_once(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/strict-named")
    cloudinary.api.create_transformation("strict_thumb", "c_scale,w_25")
    named = url_for("delivery/strict-named", transformation="strict_thumb", format="jpg")
    _darkroom(cld_sqlite, "clouds", "set", cld_sqlite.cloud, "--strict")
    try:
        time.sleep(LOOKUP_TTL)
        assert httpx.get(named).status_code == 401
        # An Admin API write through the server itself: no waiting for the server's memory to expire.
        cloudinary.api.update_transformation("strict_thumb", allowed_for_strict=True)
        delivered = httpx.get(named)
        assert delivered.status_code == 200 and pyvips.Image.new_from_buffer(delivered.content, "").width == 25
    finally:
        _darkroom(cld_sqlite, "clouds", "set", cld_sqlite.cloud, "--no-strict")
        cloudinary.api.delete_transformation("strict_thumb")


def test_eager_transformations_are_rendered_at_upload_and_listed(cld: LiveServer, sample_jpg: Path) -> None:
    result = cloudinary.uploader.upload(
        str(sample_jpg), public_id="delivery/eager", eager=[{"width": 100, "crop": "scale"}, {"width": 50, "height": 50, "crop": "fill", "format": "png"}]
    )
    first, second = result["eager"]
    assert (first["transformation"], first["width"], first["height"], first["format"]) == ("c_scale,w_100", 100, 75, "jpg")
    assert (second["transformation"], second["width"], second["height"], second["format"]) == ("c_fill,h_50,w_50/png", 50, 50, "png")
    delivered = httpx.get(second["url"])
    assert delivered.status_code == 200 and sniff(delivered.content) == "png" and len(delivered.content) == second["bytes"]
    rows = [row for row in _derived_rows(cld) if row.transformation == "w_100"]  # the canonical key: c_scale is the default
    assert rows, "eager derivatives are stored"
    explicit = cloudinary.uploader.explicit("delivery/eager", type="upload", eager=[{"width": 30, "crop": "scale"}])
    assert explicit["eager"][0]["width"] == 30


def test_text_overlays_and_escaped_public_ids_survive_the_url(cld: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/with space,comma")
    overlay = url_for(
        "delivery/with space,comma", format="png",
        transformation=[{"overlay": {"font_family": "Arial", "font_size": 20, "text": "50% off, today/now"}}],
    )
    response = httpx.get(overlay)
    assert response.status_code == 200, response.headers.get("x-cld-error")
    assert sniff(response.content) == "png"
    signed = url_for("delivery/with space,comma", width=40, crop="scale", format="jpg", sign_url=True)
    assert httpx.get(signed).status_code == 200


def test_explicit_with_a_bad_eager_changes_nothing(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/explicit-bad-eager", tags=["before"])
    with pytest.raises(cloudinary.exceptions.BadRequest, match="bogus"):
        cloudinary.uploader.explicit("delivery/explicit-bad-eager", type="upload", tags=["after"], eager=[{"crop": "bogus", "width": 5}])
    assert cloudinary.uploader.explicit("delivery/explicit-bad-eager", type="upload")["tags"] == ["before"]


def _overlaid(public_id: str, overlay_url: str) -> str:
    return url_for(
        public_id, format="png",
        transformation=[{"width": 200, "height": 150, "crop": "fill"},
                        {"overlay": {"url": overlay_url}, "gravity": "north_west", "flags": "layer_apply"}],
    )


def test_a_remote_overlay_is_fetched_and_laid_where_gravity_says(photo: str, file_server: tuple[str, Path, dict[str, str]]) -> None:
    base, folder, _ = file_server
    (pyvips.Image.black(20, 20) + [255, 0, 0]).cast("uchar").copy(interpretation="srgb").pngsave(str(folder / "red-badge.png"))
    url = _overlaid(photo, f"{base}/red-badge.png")
    assert ",l_fetch:" in url  # the SDK's spelling: the URL in base64

    response = httpx.get(url)

    assert response.status_code == 200, response.headers.get("x-cld-error")
    picture = pyvips.Image.new_from_buffer(response.content, "")
    assert (picture.width, picture.height) == (200, 150)
    assert picture(5, 5)[:3] == [255, 0, 0]  # the badge, top left
    assert picture(100, 100)[:3] != [255, 0, 0]  # the photo, elsewhere


@pytest.mark.parametrize(
    ("overlay_url", "says"),
    [
        ("http://169.254.169.254/latest/meta-data/", "non-public address"),  # cloud metadata: never fetched
        ("/missing-badge.png", "404"),  # appended to the file server's address below
        ("/not-an-image.txt", "Error in loading"),
    ],
)
def test_a_remote_overlay_that_cannot_be_used_is_a_400(
    photo: str, file_server: tuple[str, Path, dict[str, str]], overlay_url: str, says: str
) -> None:
    base, folder, _ = file_server
    (folder / "not-an-image.txt").write_text("plain text, no pixels")
    target = f"{base}{overlay_url}" if overlay_url.startswith("/") else overlay_url

    response = httpx.get(_overlaid(photo, target))

    assert response.status_code == 400
    assert says in response.headers["x-cld-error"]


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [("ico", "image/x-icon", b"\x00\x00\x01\x00"), ("pdf", "application/pdf", b"%PDF-")],
)
def test_formats_only_pillow_writes_are_delivered_by_extension(photo: str, fmt: str, content_type: str, magic: bytes) -> None:
    response = httpx.get(url_for(photo, transformation=[{"width": 64, "crop": "scale"}], format=fmt))

    assert response.status_code == 200, response.headers.get("x-cld-error")
    assert response.headers["content-type"] == content_type
    assert response.content.startswith(magic)


def test_an_overlay_named_by_a_variable_is_fetched_from_the_catalog(cld_sqlite: LiveServer, sample_jpg: Path, tmp_path: Path) -> None:
    badge = tmp_path / "badge.png"
    (pyvips.Image.black(16, 16) + [255, 0, 0]).cast("uchar").copy(interpretation="srgb").pngsave(str(badge))
    cloudinary.uploader.upload(str(badge), public_id="delivery/brand/badge")
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/with-variable-layer")
    url = url_for(
        "delivery/with-variable-layer", format="png",
        transformation=[{"variables": [["$img", "!delivery:brand:badge!"]]}, {"overlay": "$img"}, {"flags": "layer_apply", "gravity": "north_west"}],
    )
    assert "l_$img" in url
    response = httpx.get(url)
    assert response.status_code == 200, response.headers.get("x-cld-error")
    assert pyvips.Image.new_from_buffer(response.content, "")(8, 8)[:3] == [255, 0, 0]


def test_named_transformations_work_wherever_a_transformation_is_accepted(cld: LiveServer, sample_jpg: Path) -> None:
    cloudinary.api.create_transformation("eager_thumb", "c_scale,w_40")
    cloudinary.api.create_transformation("incoming_small", "c_scale,w_200")
    result = cloudinary.uploader.upload(
        str(sample_jpg), public_id="delivery/named-eager",
        transformation={"transformation": "incoming_small"}, eager=[{"transformation": "eager_thumb"}],
    )
    assert (result["width"], result["height"]) == (200, 150)  # the incoming named transformation was applied
    (eager,) = result["eager"]
    assert (eager["transformation"], eager["width"], eager["height"]) == ("t_eager_thumb", 40, 30)  # as the caller wrote it
    assert httpx.get(eager["url"]).status_code == 200
    explicit = cloudinary.uploader.explicit("delivery/named-eager", type="upload", eager=[{"transformation": "eager_thumb", "format": "png"}])
    assert (explicit["eager"][0]["transformation"], explicit["eager"][0]["format"]) == ("t_eager_thumb/png", "png")
    cloudinary.api.create_upload_preset(name="named_eager_preset", unsigned=False, eager="t_eager_thumb")
    preset_upload = cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/named-preset", upload_preset="named_eager_preset")
    assert preset_upload["eager"][0]["width"] == 40
    archive = cloudinary.uploader.create_zip(public_ids=["delivery/named-eager"], transformations=[{"transformation": "eager_thumb"}])
    assert archive["file_count"] == 1


def test_an_unknown_named_transformation_is_a_clear_400_everywhere(cld: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/named-unknown")
    attempts = [
        lambda: cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/named-unknown-2", eager=[{"transformation": "no_such_name"}]),
        lambda: cloudinary.uploader.upload(str(sample_jpg), public_id="delivery/named-unknown-3", transformation={"transformation": "no_such_name"}),
        lambda: cloudinary.uploader.explicit("delivery/named-unknown", type="upload", eager=[{"transformation": "no_such_name"}]),
        lambda: cloudinary.api.create_upload_preset(name="named_unknown_preset", eager="t_no_such_name"),
        lambda: cloudinary.uploader.create_zip(public_ids=["delivery/named-unknown"], transformations=[{"transformation": "no_such_name"}]),
    ]
    for attempt in attempts:
        with pytest.raises(cloudinary.exceptions.BadRequest, match="t_no_such_name"):
            attempt()
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("delivery/named-unknown-2")  # refused before anything was stored


def test_only_public_upload_images_can_be_layers(cld_sqlite: LiveServer, sample_jpg: Path, tmp_path: Path) -> None:
    """A layer's pixels land in a derivative anyone may fetch: an asset that is authenticated,
    private-typed or rejected by moderation is refused as a layer exactly like a missing one."""
    badge = tmp_path / "badge.png"
    (pyvips.Image.black(20, 20) + [255, 0, 0]).cast("uchar").copy(interpretation="srgb").pngsave(str(badge))
    base = cloudinary.uploader.upload(str(sample_jpg), public_id="layers/base", overwrite=True)["public_id"]
    cloudinary.uploader.upload(str(badge), public_id="layers/badge", overwrite=True)
    cloudinary.uploader.upload(str(badge), public_id="layers/locked", overwrite=True)
    make_authenticated(cld_sqlite, "layers/locked")
    cloudinary.uploader.upload(str(badge), public_id="layers/secret", type="private", overwrite=True)
    cloudinary.uploader.upload(str(badge), public_id="layers/rejected", moderation="manual", overwrite=True)
    cloudinary.api.update("layers/rejected", moderation_status="rejected")

    def overlaid(overlay: object) -> httpx.Response:
        return httpx.get(url_for(base, format="png", transformation=[
            {"width": 100, "crop": "scale"}, {"overlay": overlay, "gravity": "north_west", "flags": "layer_apply"}]))

    shown = overlaid("layers:badge")
    assert shown.status_code == 200, shown.headers.get("x-cld-error")
    assert pyvips.Image.new_from_buffer(shown.content, "")(5, 5)[:3] == [255, 0, 0]
    for overlay in ("layers:locked", {"public_id": "layers/secret", "type": "private"}, "private:layers:secret", "layers:rejected"):
        refused = overlaid(overlay)
        assert refused.status_code == 400, overlay
        assert "Unknown or invalid referenced image" in refused.headers["x-cld-error"], overlay
