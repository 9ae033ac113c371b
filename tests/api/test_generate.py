"""Generation actions (text, sprite, multi, explode) and analysis on upload, through the official SDK."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips
from PIL import Image
from cloudinary.exceptions import BadRequest, NotFound

from darkroom.imaging.metrics import hamming
from support import LiveServer


def _solid(path: Path, width: int, height: int, rgb: tuple[int, int, int]) -> Path:
    (pyvips.Image.black(width, height) + list(rgb)).cast("uchar").copy(interpretation="srgb").write_to_file(str(path))
    return path


def _photo(path: Path, width: int, height: int, *, seed: int = 1, sharp: bool = True) -> Path:
    """A gradient with texture: JPEG sizes grow with width like a photo's do."""
    xy = pyvips.Image.xyz(width, height)
    base = (xy[0] * 255 / width).bandjoin([xy[1] * 255 / height, (xy[0] + xy[1]) * 128 / (width + height)])
    noise = pyvips.Image.gaussnoise(width, height, sigma=30, mean=0, seed=seed)
    image = (base + noise.bandjoin([noise, noise])).cast("uchar").copy(interpretation="srgb")
    if not sharp:
        image = image.gaussblur(4).cast("uchar")
    image.jpegsave(str(path), Q=90)
    return path


def _fetch(url: str) -> httpx.Response:
    response = httpx.get(url)
    assert response.status_code == 200, (url, response.status_code, response.headers.get("x-cld-error"))
    return response


def _picture(url: str) -> pyvips.Image:
    data = _fetch(url).content
    animated = data[:6] in (b"GIF89a", b"GIF87a") or data[8:12] == b"WEBP"
    return pyvips.Image.new_from_buffer(data, "", n=-1) if animated else pyvips.Image.new_from_buffer(data, "")


def _pixel(image: pyvips.Image, x: int, y: int) -> list[int]:
    return [round(v) for v in image.getpoint(x, y)[:3]]


def _tagged(tmp_path: Path, colours: list[tuple[int, int, int]], sizes: list[tuple[int, int]]) -> tuple[str, list[str]]:
    tag = f"gen-{secrets.token_hex(4)}"
    ids = []
    for i, (rgb, (width, height)) in enumerate(zip(colours, sizes)):
        path = _solid(tmp_path / f"part{i}.png", width, height, rgb)
        ids.append(cloudinary.uploader.upload(str(path), public_id=f"{tag}/part{i}", tags=[tag])["public_id"])
    return tag, ids


# ---------------------------------------------------------------- text


def test_text_stores_an_image_of_the_styled_text(cld: LiveServer) -> None:
    result = cloudinary.uploader.text(
        "Hello darkroom", public_id=f"text-{secrets.token_hex(3)}", font_family="Arial", font_size=40,
        font_color="red", font_weight="bold", background="#FFFF00",
    )
    assert (result["type"], result["format"], result["resource_type"]) == ("text", "png", "image")
    assert result["width"] > result["height"] > 20
    expected = cloudinary.utils.api_sign_request({"public_id": result["public_id"], "version": result["version"]}, cld.api_secret)
    assert result["signature"] == expected
    url = cloudinary.utils.cloudinary_url(result["public_id"], type="text", format="png", version=result["version"])[0]
    assert url == result["url"]
    image = _picture(url)
    assert (image.width, image.height) == (result["width"], result["height"])
    assert _pixel(image, 1, 1) == [255, 255, 0]  # the background
    reds = (image[0] > 200) & (image[1] < 80) & (image[2] < 80)
    assert reds.avg() > 0  # some text pixels are red


def test_text_needs_valid_styles(cld_sqlite: LiveServer) -> None:
    with pytest.raises(BadRequest, match="font_size"):
        cloudinary.uploader.text("x", font_family="Arial", font_size="huge")
    with pytest.raises(BadRequest, match="color"):
        cloudinary.uploader.text("x", font_family="Arial", font_color="not-a-colour")


# ---------------------------------------------------------------- sprite


def test_sprite_by_tag_stacks_images_and_delivers_image_css_and_json(cld: LiveServer, tmp_path: Path) -> None:
    tag, ids = _tagged(tmp_path, [(255, 0, 0), (0, 0, 255)], [(40, 30), (20, 50)])
    result = cloudinary.uploader.generate_sprite(tag)
    assert result["public_id"] == tag
    assert result["image_infos"] == {
        ids[0]: {"width": 40, "height": 30, "x": 0, "y": 0},
        ids[1]: {"width": 20, "height": 50, "x": 0, "y": 32},
    }
    assert result["image_url"] == cloudinary.utils.cloudinary_url(tag, type="sprite", format="png", version=result["version"])[0]
    sheet = _picture(result["image_url"])
    assert (sheet.width, sheet.height) == (40, 82)
    assert _pixel(sheet, 5, 5) == [255, 0, 0] and _pixel(sheet, 5, 60) == [0, 0, 255]
    css = _fetch(result["css_url"])
    assert css.headers["content-type"].startswith("text/css")
    assert f".{tag}_part1 {{ background-position: 0px -32px; width: 20px; height: 50px; }}" in css.text
    assert result["image_url"].split(":", 1)[1] in css.text
    assert json.loads(_fetch(result["json_url"]).text)["image_infos"] == result["image_infos"]
    head = httpx.head(result["css_url"])
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(css.content)
    assert result["secure_css_url"] == "https://" + result["css_url"].removeprefix("http://")


def test_sprite_by_urls_applies_the_transformation(cld_sqlite: LiveServer, tmp_path: Path, file_server: tuple[str, Path, dict[str, str]]) -> None:
    base, folder, _ = file_server
    _solid(folder / "remote-green.png", 60, 60, (0, 255, 0))
    own = cloudinary.uploader.upload(str(_solid(tmp_path / "own.png", 80, 40, (255, 0, 0))), public_id=f"own-{secrets.token_hex(3)}")
    result = cloudinary.uploader.generate_sprite(
        urls=[own["url"], f"{base}/remote-green.png"], width=20, crop="scale", format="jpg", public_id=f"sp-{secrets.token_hex(3)}"
    )
    assert result["image_infos"] == {
        own["public_id"]: {"width": 20, "height": 10, "x": 0, "y": 0},
        "remote-green": {"width": 20, "height": 20, "x": 0, "y": 12},
    }
    assert result["image_url"].endswith(".jpg")
    sheet = _picture(result["image_url"])
    assert (sheet.width, sheet.height) == (20, 32)


def test_sprite_needs_a_known_tag(cld_sqlite: LiveServer) -> None:
    with pytest.raises(NotFound):
        cloudinary.uploader.generate_sprite("no-such-tag-anywhere")


# ---------------------------------------------------------------- multi


def test_multi_makes_an_animated_gif_of_the_tagged_images_in_public_id_order(cld: LiveServer, tmp_path: Path) -> None:
    tag, _ids = _tagged(tmp_path, [(255, 0, 0), (0, 255, 0), (0, 0, 255)], [(50, 40)] * 3)
    result = cloudinary.uploader.multi(tag, format="gif")
    assert result["public_id"] == tag
    assert result["url"] == cloudinary.utils.cloudinary_url(tag, type="multi", format="gif", version=result["version"])[0]
    animation = _picture(result["url"])
    assert animation.get("n-pages") == 3 and animation.width == 50 and animation.get("page-height") == 40
    assert [_pixel(animation, 25, 20 + 40 * i) for i in range(3)] == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]


def test_multi_honours_format_and_transformation(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    tag, _ids = _tagged(tmp_path, [(255, 0, 0), (0, 0, 255)], [(100, 50), (100, 50)])
    webp = cloudinary.uploader.multi(tag, format="webp", width=40, crop="scale", delay=200)
    animation = _picture(webp["url"])
    assert _fetch(webp["url"]).headers["content-type"] == "image/webp"
    assert (animation.width, animation.get("page-height"), animation.get("n-pages")) == (40, 20, 2)
    assert list(animation.get("delay")) == [200, 200]
    pdf = cloudinary.uploader.multi(tag, format="pdf", public_id=f"{tag}-pdf")
    body = _fetch(pdf["url"]).content
    assert body.startswith(b"%PDF-") and b"/Count 2" in body and body.rstrip().endswith(b"%%EOF")
    with pytest.raises(BadRequest, match="format"):
        cloudinary.uploader.multi(tag, format="mp4")


# ---------------------------------------------------------------- explode


def test_explode_renders_each_page_as_its_pg_derivative(cld: LiveServer, tmp_path: Path) -> None:
    frames = [(pyvips.Image.black(30, 20) + list(rgb)).cast("uchar") for rgb in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    animated = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    animated.set_type(pyvips.GValue.gint_type, "page-height", 20)
    animated.gifsave(str(tmp_path / "three.gif"))
    upload = cloudinary.uploader.upload(str(tmp_path / "three.gif"), public_id=f"pages-{secrets.token_hex(3)}")
    assert upload["pages"] == 3
    result = cloudinary.uploader.explode(upload["public_id"], page="all", format="png")
    assert result["status"] == "processing" and result["batch_id"]
    for page, rgb in enumerate([[255, 0, 0], [0, 255, 0], [0, 0, 255]], start=1):
        url = cloudinary.utils.cloudinary_url(upload["public_id"], page=page, format="png", version=upload["version"])[0]
        image = _picture(url)
        assert (image.width, image.height, _pixel(image, 15, 10)) == (30, 20, rgb)
    with pytest.raises(BadRequest, match="page"):
        cloudinary.uploader.explode(upload["public_id"], page=9, format="png")
    with pytest.raises(NotFound):
        cloudinary.uploader.explode("no-such-asset", page="all")


# ---------------------------------------------------------------- analysis on upload


def test_colors_of_a_red_image_are_red(cld: LiveServer, tmp_path: Path) -> None:
    result = cloudinary.uploader.upload(str(_solid(tmp_path / "red.png", 64, 48, (255, 0, 0))), colors=True)
    assert result["colors"] == [["#FF0000", 100.0]]
    assert result["predominant"]["google"][0] == ["red", 100.0]


def test_phash_is_close_for_a_resized_copy_and_far_for_another_image(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    photo = _photo(tmp_path / "photo.jpg", 400, 300)
    pyvips.Image.new_from_file(str(photo)).resize(0.4).jpegsave(str(tmp_path / "small.jpg"), Q=70)
    other = pyvips.Image.xyz(400, 300)[1].cast("uchar").bandjoin([pyvips.Image.black(400, 300)] * 2).copy(interpretation="srgb")
    other.jpegsave(str(tmp_path / "other.jpg"))
    hashes = [cloudinary.uploader.upload(str(tmp_path / name), phash=True)["phash"] for name in ("photo.jpg", "small.jpg", "other.jpg")]
    assert all(len(h) == 16 and int(h, 16) >= 0 for h in hashes)
    assert hamming(hashes[0], hashes[1]) <= 8
    assert hamming(hashes[0], hashes[2]) >= 20


def test_quality_analysis_scores_a_blurred_copy_lower_for_focus(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    sharp = cloudinary.uploader.upload(str(_photo(tmp_path / "sharp.jpg", 300, 200)), quality_analysis=True)
    blurred = cloudinary.uploader.upload(str(_photo(tmp_path / "blur.jpg", 300, 200, sharp=False)), quality_analysis=True)
    assert 0 <= blurred["quality_analysis"]["focus"] < sharp["quality_analysis"]["focus"] <= 1
    assert 0 <= sharp["quality_score"] <= 1


def test_explicit_answers_analysis_too(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    upload = cloudinary.uploader.upload(str(_solid(tmp_path / "blue.png", 20, 20, (0, 0, 255))), public_id=f"ex-{secrets.token_hex(3)}")
    assert "phash" not in upload and "colors" not in upload
    result = cloudinary.uploader.explicit(
        upload["public_id"], type="upload", phash=True, colors=True,
        responsive_breakpoints={"create_derived": True, "bytes_step": 100, "min_width": 5, "max_width": 20, "max_images": 3},
    )
    assert len(result["phash"]) == 16 and result["colors"][0][0] == "#0000FF"
    points = result["responsive_breakpoints"][0]["breakpoints"]
    assert points[0]["width"] == 20 and _picture(points[-1]["url"]).width == points[-1]["width"]


def test_pdf_uploads_are_analysed_from_their_first_page(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    # libvips here has no PDF loader; PDFium renders the first page (imaging/foreign.py).
    Image.new("RGB", (200, 100), (0, 0, 255)).save(tmp_path / "doc.pdf", resolution=72)
    result = cloudinary.uploader.upload(str(tmp_path / "doc.pdf"), colors=True, phash=True)
    assert result["format"] == "pdf" and result["resource_type"] == "image" and result["pages"] == 1
    assert result["colors"][0][0] in ("#0000FF", "#0000FE") and len(result["phash"]) == 16  # JPEG inside the PDF


def test_a_broken_pdf_is_refused(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    with pytest.raises(BadRequest, match="Invalid PDF file"):
        cloudinary.uploader.upload(str(tmp_path / "doc.pdf"), colors=True, phash=True)


# ---------------------------------------------------------------- responsive breakpoints


def test_responsive_breakpoints_step_down_by_bytes_and_deliver(cld: LiveServer, tmp_path: Path) -> None:
    step = 15000
    result = cloudinary.uploader.upload(
        str(_photo(tmp_path / "wide.jpg", 800, 600)),
        responsive_breakpoints={"create_derived": True, "bytes_step": step, "min_width": 100, "max_width": 700, "max_images": 8},
    )
    (item,) = result["responsive_breakpoints"]
    points = item["breakpoints"]
    widths = [p["width"] for p in points]
    assert widths[0] == 700 and widths[-1] == 100 and 3 <= len(widths) <= 8
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == len(widths)
    steps = [a["bytes"] - b["bytes"] for a, b in zip(points, points[1:-1])]
    assert all(0.6 * step <= s <= 1.6 * step for s in steps), steps
    # create_derived: stored with the upload (before any request), the very renderings listed
    stored = {d["transformation"]: d["bytes"] for d in cloudinary.api.resource(result["public_id"])["derived"]}
    assert stored == {f"w_{p['width']}": p["bytes"] for p in points}  # listed canonically: c_scale is the default
    for point in points[:3]:
        image = _picture(point["url"])
        assert (image.width, image.height) == (point["width"], point["height"])
        assert len(_fetch(point["url"]).content) == point["bytes"]
    assert points[0]["secure_url"] == "https://" + points[0]["url"].removeprefix("http://")


def test_responsive_breakpoints_with_transformation_format_and_max_images(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    result = cloudinary.uploader.upload(
        str(_photo(tmp_path / "wide.jpg", 600, 400)),
        responsive_breakpoints=[
            {"create_derived": False, "bytes_step": 1000, "min_width": 50, "max_width": 1000, "max_images": 3,
             "transformation": {"effect": "grayscale"}, "format": "webp"},
        ],
    )
    (item,) = result["responsive_breakpoints"]
    assert item["transformation"] == "e_grayscale"
    widths = [p["width"] for p in item["breakpoints"]]
    assert widths[0] == 600 and widths[-1] == 50 and len(widths) == 3  # capped at the image's width
    url = item["breakpoints"][1]["url"]
    assert "/e_grayscale/c_scale,w_" in url and url.endswith(".webp")
    assert _fetch(url).headers["content-type"] == "image/webp"
    for point in item["breakpoints"]:  # not stored, yet the sizes reported are what the URLs deliver
        delivered = _fetch(point["url"]).content
        image = pyvips.Image.new_from_buffer(delivered, "")
        assert (image.width, image.height, len(delivered)) == (point["width"], point["height"], point["bytes"])


def test_bad_responsive_breakpoints_are_a_400(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    path = str(_solid(tmp_path / "x.png", 10, 10, (1, 2, 3)))
    with pytest.raises(BadRequest, match="responsive_breakpoints"):
        cloudinary.uploader.upload(path, responsive_breakpoints={"create_derived": True, "min_width": 500, "max_width": 100})


def test_signed_download_urls_return_the_sprite_and_the_animation_without_storing(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    tag, _ids = _tagged(tmp_path, [(255, 0, 0), (0, 255, 0)], [(30, 20), (30, 20)])
    sheet = httpx.get(cloudinary.uploader.download_generated_sprite(tag))
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "image/png"
    assert sheet.headers["content-disposition"] == f'attachment; filename="{tag}.png"'
    assert pyvips.Image.new_from_buffer(sheet.content, "").height == 42
    animation = httpx.get(cloudinary.uploader.download_multi(tag, format="gif"))
    assert animation.status_code == 200 and animation.content.startswith(b"GIF8")
    unsigned = cloudinary.uploader.download_multi(tag, format="gif").replace("signature=", "signature=0")
    assert httpx.get(unsigned).status_code == 401
    assert httpx.get(cloudinary.utils.cloudinary_url(tag, type="sprite", format="png")[0]).status_code == 404


def test_faces_on_upload_are_boxes_in_the_images_pixels(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    from skimage import data

    pyvips.Image.new_from_array(data.astronaut()).copy(interpretation="srgb").jpegsave(str(tmp_path / "astronaut.jpg"))
    result = cloudinary.uploader.upload(str(tmp_path / "astronaut.jpg"), faces=True)
    (box,) = result["faces"]
    assert 150 < box[0] + box[2] / 2 < 300 and 50 < box[1] + box[3] / 2 < 180


def test_malformed_responsive_breakpoints_store_nothing(cld_sqlite: LiveServer, sample_png: Path) -> None:
    with pytest.raises(BadRequest, match="responsive_breakpoints"):
        cloudinary.uploader.upload(str(sample_png), public_id="generate/bad-breakpoints", responsive_breakpoints=[{"create_derived": False, "max_images": "many"}])
    with pytest.raises(NotFound):
        cloudinary.uploader.explicit("generate/bad-breakpoints", type="upload")
