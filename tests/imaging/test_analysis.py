"""Upload analysis (colors, phash, faces, breakpoints) and generation actions (text, multi, sprite)."""

from __future__ import annotations

import pyvips

from darkroom.imaging.analysis import animate, choose_breakpoints, colors, faces, phash, quality_analysis, sprite, text_image
from darkroom.transform import TextStyle


def test_colors_reports_the_predominant_colour_first(images: dict[str, str]) -> None:
    result = colors(images["grey"])
    assert result[0][0] == "#808080" and result[0][1] == 100.0
    logo = colors(images["logo"])
    assert logo[0][0] == "#FF0000"


def test_phash_is_stable_under_resizing_and_differs_between_images(images: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    small = tmp_path / "small.jpg"
    pyvips.Image.new_from_file(images["astronaut"]).thumbnail_image(200).jpegsave(str(small), Q=70)
    same = bin(int(phash(images["astronaut"]), 16) ^ int(phash(str(small)), 16)).count("1")
    other = bin(int(phash(images["astronaut"]), 16) ^ int(phash(images["jpg"]), 16)).count("1")
    assert len(phash(images["jpg"])) == 16
    assert same <= 6 < other


def test_faces_finds_the_astronaut(images: dict[str, str]) -> None:
    found = faces(images["astronaut"])
    assert len(found) == 1
    x, y, w, h = found[0]
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 180


def test_breakpoints_follow_the_byte_step() -> None:
    widths = choose_breakpoints(lambda width: width * width // 10, 100, 1000, 20000, 20)
    sizes = [w * w // 10 for w in widths]
    assert widths[0] == 1000 and widths[-1] == 100
    steps = [a - b for a, b in zip(sizes, sizes[1:-1])]
    assert all(15000 < step < 25000 for step in steps)
    assert len(choose_breakpoints(lambda width: width * width, 100, 1000, 1000, 5)) == 5


def test_text_image_is_a_png_of_the_text() -> None:
    rendered = text_image("Hello", TextStyle("Arial", 40, font_weight="bold"), color="red", background="white")
    image = pyvips.Image.new_from_buffer(rendered.data, "")
    assert rendered.format == "png" and image.width > 60 and 25 < image.height < 80
    assert image.extract_band(0).min() > 200 and image.extract_band(1).min() < 50  # red on white


def test_animate_and_sprite_combine_images(images: dict[str, str]) -> None:
    animated = animate([images["logo"], images["grey"]], "gif", delay=200)
    decoded = pyvips.Image.new_from_buffer(animated.data, "", n=-1)
    assert decoded.get("n-pages") == 2 and decoded.get("page-height") == 50
    strip, boxes = sprite([images["logo"], images["alpha_png"]])
    assert boxes == [(0, 0, 50, 50), (0, 50, 200, 100)] and (strip.width, strip.height) == (200, 150)


def test_quality_analysis_scores_blur_lower(images: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    blurred = tmp_path / "blurred.png"
    pyvips.Image.new_from_file(images["astronaut"]).gaussblur(4).pngsave(str(blurred))
    sharp, soft = quality_analysis(images["astronaut"])["focus"], quality_analysis(str(blurred))["focus"]
    assert 0 <= soft < sharp <= 1 and soft < sharp / 3
