"""Colours, perceptual hash and quality scores of an image (`imaging.metrics`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from darkroom.imaging import metrics
from darkroom.imaging.metrics import analyse, colors, face_boxes, hamming, load_for_analysis, phash, predominant, quality_scores


def _write(image: pyvips.Image, path: Path) -> Path:
    image.copy(interpretation="srgb").write_to_file(str(path))
    return path


def _solid(width: int, height: int, rgb: list[int]) -> pyvips.Image:
    return (pyvips.Image.black(width, height) + rgb).cast("uchar")


def _textured(width: int, height: int, seed: int = 3) -> pyvips.Image:
    xy = pyvips.Image.xyz(width, height)
    noise = pyvips.Image.gaussnoise(width, height, sigma=25, seed=seed)
    base = (xy[0] * 255 / width).bandjoin([xy[1] * 255 / height, noise * 0 + 90])
    return (base + noise.bandjoin([noise, noise])).cast("uchar")


def test_a_solid_colour_is_one_colour_at_100_percent(tmp_path: Path) -> None:
    image = load_for_analysis(_write(_solid(40, 30, [255, 0, 0]), tmp_path / "red.png"))
    assert colors(image) == [["#FF0000", 100.0]]
    assert predominant(image)["google"] == [["red", 100.0]]


def test_colours_are_listed_by_share(tmp_path: Path) -> None:
    halves = _solid(30, 40, [0, 0, 255]).join(_solid(90, 40, [255, 255, 255]), "horizontal")
    image = load_for_analysis(_write(halves, tmp_path / "two.png"))
    assert colors(image) == [["#FFFFFF", 75.0], ["#0000FF", 25.0]]
    assert [name for name, _ in predominant(image)["google"]] == ["white", "blue"]


def test_transparency_is_analysed_as_white(tmp_path: Path) -> None:
    clear = pyvips.Image.black(20, 20, bands=4).cast("uchar")
    assert colors(load_for_analysis(_write(clear, tmp_path / "clear.png")))[0][0] == "#FFFFFF"


def test_phash_survives_resizing_and_recompression_but_not_a_different_picture(tmp_path: Path) -> None:
    from skimage import data

    def photo(array: object, name: str) -> Path:
        return _write(pyvips.Image.new_from_array(array), tmp_path / name)  # type: ignore[arg-type]

    original = photo(data.astronaut(), "astronaut.png")
    pyvips.Image.new_from_file(str(original)).resize(0.3).jpegsave(str(tmp_path / "small.jpg"), Q=60)
    other = photo(data.chelsea(), "cat.png")
    first, small, different = (phash(load_for_analysis(p)) for p in (original, tmp_path / "small.jpg", other))
    assert len(first) == 16 and int(first, 16) >= 0
    assert hamming(first, small) <= 6
    assert hamming(first, different) >= 20


def test_hamming_counts_differing_bits() -> None:
    assert hamming("0000000000000000", "0000000000000000") == 0
    assert hamming("ffffffffffffffff", "0000000000000000") == 64
    assert hamming("0000000000000003", "0000000000000001") == 1


def test_quality_scores_are_between_0_and_1_and_focus_drops_with_blur(tmp_path: Path) -> None:
    sharp = _textured(300, 200)
    scores = quality_scores(load_for_analysis(_write(sharp, tmp_path / "s.png")), source_width=300, source_height=200)
    blurred = quality_scores(load_for_analysis(_write(sharp.gaussblur(3).cast("uchar"), tmp_path / "b.png")), source_width=300, source_height=200)
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert {"focus", "noise", "contrast", "exposure", "saturation", "resolution", "pixel_score"} <= scores.keys()
    assert blurred["focus"] < scores["focus"]
    flat = quality_scores(load_for_analysis(_write(_solid(50, 50, [128, 128, 128]), tmp_path / "g.png")), source_width=50, source_height=50)
    assert flat["contrast"] == 0.0 and flat["focus"] == 0.0


def test_faces_are_found_in_the_images_own_pixels(tmp_path: Path) -> None:
    from skimage import data

    path = _write(pyvips.Image.new_from_array(data.astronaut()), tmp_path / "astronaut.png")
    (box,) = face_boxes(path)
    x, y, width, height = box
    assert 150 < x + width / 2 < 300 and 50 < y + height / 2 < 180 and 60 < width < 200
    assert face_boxes(_write(_solid(300, 200, [200, 200, 200]), tmp_path / "plain.png")) == []


def test_analyse_answers_each_wanted_option_from_one_thumbnail(tmp_path: Path) -> None:
    path = _write(_solid(40, 30, [255, 0, 0]), tmp_path / "red.png")
    fields = analyse(path, {"colors", "phash", "quality_analysis"}, source_width=4000, source_height=3000)
    image = load_for_analysis(path)
    assert fields["colors"] == colors(image) and fields["predominant"] == predominant(image)
    assert fields["phash"] == phash(image)
    assert fields["quality_analysis"] == quality_scores(image, source_width=4000, source_height=3000)
    assert fields["quality_score"] == fields["quality_analysis"]["pixel_score"]
    assert "faces" not in fields


def test_analyse_decodes_no_thumbnail_for_faces_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("thumbnail decoded")

    monkeypatch.setattr(metrics, "load_for_analysis", refuse)
    path = _write(_solid(300, 200, [200, 200, 200]), tmp_path / "plain.png")
    assert analyse(path, {"faces"}) == {"faces": []}
