"""Resource details on request: colours, perceptual hash, faces and embedded metadata (both databases)."""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import pytest
import pyvips

from darkroom.imaging.embedded import exif_value
from darkroom.imaging.metrics import hamming
from tests.admin.conftest import AdminCloud

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4"><dc:title xmlns:dc="http://purl.org/dc/elements/1.1/">'
       b'<rdf:Alt><rdf:li xml:lang="x-default">Red card</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>')


@pytest.fixture(scope="module")
def red_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A red JPEG with a white right quarter, EXIF Make/Model and an XMP rating and title."""
    image = (pyvips.Image.black(120, 80, bands=3) + [200, 30, 30]).cast("uchar")
    image = image.insert((pyvips.Image.black(30, 80, bands=3) + 255).cast("uchar"), 90, 0).copy(interpretation="srgb")
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Make", "Darkroom Camera")
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Model", "DR-1")
    image.set_type(pyvips.GValue.blob_type, "xmp-data", XMP)
    path = tmp_path_factory.mktemp("details") / "red-card.jpg"
    image.jpegsave(str(path), Q=95)
    return path


def test_plain_details_carry_no_analysis(cloud: AdminCloud, red_card: Path) -> None:
    cloudinary.uploader.upload(str(red_card), public_id="card")
    detail = cloudinary.api.resource("card")
    assert not {"colors", "phash", "faces", "image_metadata", "predominant"} & set(detail)


def test_colors_and_phash_describe_the_stored_pixels(cloud: AdminCloud, red_card: Path) -> None:
    uploaded = cloudinary.uploader.upload(str(red_card), public_id="card", phash=True)
    detail = cloudinary.api.resource("card", colors=True, phash=True)
    (first_hex, first_share), (second_hex, second_share) = detail["colors"][:2]
    assert _near(first_hex, (200, 30, 30)) and 70 <= first_share <= 80
    assert _near(second_hex, (255, 255, 255)) and 20 <= second_share <= 30
    assert detail["predominant"]["google"][0][0] == "red"
    assert len(detail["phash"]) == 16 and hamming(detail["phash"], uploaded["phash"]) == 0
    by_asset_id = cloudinary.api.resource_by_asset_id(uploaded["asset_id"], phash=True)
    assert by_asset_id["phash"] == detail["phash"]


def test_image_metadata_lists_exif_and_xmp_tags(cloud: AdminCloud, red_card: Path) -> None:
    cloudinary.uploader.upload(str(red_card), public_id="card")
    metadata = cloudinary.api.resource("card", image_metadata=True)["image_metadata"]
    assert metadata["Make"] == "Darkroom Camera" and metadata["Model"] == "DR-1"
    assert metadata["Rating"] == "4" and metadata["Title"] == "Red card"
    assert metadata["Colorspace"] == "RGB"
    assert cloudinary.api.resource("card", media_metadata=True)["image_metadata"]["Make"] == "Darkroom Camera"


def test_faces_on_details(cloud: AdminCloud, red_card: Path, tmp_path: Path) -> None:
    from skimage import data

    cloudinary.uploader.upload(str(red_card), public_id="card")
    assert cloudinary.api.resource("card", faces=True)["faces"] == []
    pyvips.Image.new_from_array(data.astronaut()).copy(interpretation="srgb").jpegsave(str(tmp_path / "astronaut.jpg"))
    cloudinary.uploader.upload(str(tmp_path / "astronaut.jpg"), public_id="astronaut")
    (box,) = cloudinary.api.resource("astronaut", faces=True)["faces"]
    assert 150 < box[0] + box[2] / 2 < 300 and 50 < box[1] + box[3] / 2 < 180


def test_raw_files_answer_without_analysis(cloud: AdminCloud, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    cloudinary.uploader.upload(str(tmp_path / "notes.txt"), public_id="notes.txt", resource_type="raw")
    detail = cloudinary.api.resource("notes.txt", resource_type="raw", colors=True, image_metadata=True)
    assert detail["image_metadata"] == {} and "colors" not in detail


@pytest.mark.parametrize(("rendered", "value"), [
    ("Canon (Canon, ASCII, 6 components, 6 bytes)", "Canon"),
    ("1 (Internal error (unknown value 1), Short, 1 components, 2 bytes)", "1"),
    ("25400/1000 (25.400, Rational, 1 components, 8 bytes)", "25.400"),
    ("plain", "plain"),
])
def test_exif_values_prefer_the_readable_form(rendered: str, value: str) -> None:
    assert exif_value(rendered) == value


def _near(hex_colour: str, rgb: tuple[int, int, int]) -> bool:
    got = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return all(abs(a - b) <= 12 for a, b in zip(got, rgb))
