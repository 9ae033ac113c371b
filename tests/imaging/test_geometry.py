"""The crop-mode planner: exact sizes and regions from numbers alone."""

from __future__ import annotations

import pytest

from darkroom.imaging.geometry import Box, Placement, Plan, derive_box, place, plan_resize, rotated_size

# (mode, source w×h, box w×h, expected output w×h) — source is landscape 400×300.
SIZES = [
    ("scale", (400, 300), (200, None), (200, 150)),
    ("scale", (400, 300), (None, 150), (200, 150)),
    ("scale", (400, 300), (100, 100), (100, 100)),
    ("scale", (400, 300), (800, None), (800, 600)),
    ("fit", (400, 300), (200, 200), (200, 150)),
    ("fit", (400, 300), (1000, 600), (800, 600)),
    ("limit", (400, 300), (200, 200), (200, 150)),
    ("limit", (400, 300), (1000, 1000), (400, 300)),
    ("limit", (400, 300), (960, None), (400, 300)),
    ("mfit", (400, 300), (200, 200), (400, 300)),
    ("mfit", (400, 300), (800, 800), (800, 600)),
    ("fill", (400, 300), (200, 200), (200, 200)),
    ("fill", (400, 300), (100, 300), (100, 300)),
    ("fill", (400, 300), (800, 100), (800, 100)),
    ("fill", (400, 300), (200, None), (200, 150)),
    ("lfill", (400, 300), (200, 200), (200, 200)),
    ("lfill", (400, 300), (800, 800), (400, 300)),
    ("lfill", (400, 300), (600, 200), (400, 133)),
    ("pad", (400, 300), (200, 200), (200, 200)),
    ("pad", (400, 300), (800, 800), (800, 800)),
    ("lpad", (400, 300), (800, 800), (800, 800)),
    ("lpad", (400, 300), (200, 200), (200, 200)),
    ("mpad", (400, 300), (200, 200), (400, 300)),
    ("mpad", (400, 300), (800, 800), (800, 800)),
    ("fill_pad", (400, 300), (200, 200), (200, 200)),
    ("fill_pad", (400, 300), (600, 100), (600, 100)),
    ("crop", (400, 300), (100, 50), (100, 50)),
    ("crop", (400, 300), (1000, 50), (400, 50)),
    ("crop", (400, 300), (100, None), (100, 300)),
    ("thumb", (400, 300), (150, 150), (150, 150)),
    ("auto", (400, 300), (150, 150), (150, 150)),
]


@pytest.mark.parametrize(("mode", "source", "box", "expected"), SIZES, ids=[f"{m}-{b[0]}x{b[1]}" for m, _, b, _ in SIZES])
def test_every_crop_mode_produces_the_documented_size(mode: str, source: tuple[int, int], box: tuple, expected: tuple[int, int]) -> None:
    plan = plan_resize(mode, source[0], source[1], box[0], box[1])
    assert plan.output_size(*source) == expected


def test_fill_crops_around_gravity() -> None:
    west = plan_resize("fill", 400, 300, 100, 300, Placement("west"))
    east = plan_resize("fill", 400, 300, 100, 300, Placement("east"))
    centre = plan_resize("fill", 400, 300, 100, 300)
    assert west.crop == Box(0, 0, 100, 300) and east.crop == Box(300, 0, 100, 300) and centre.crop == Box(150, 0, 100, 300)


def test_fill_centres_on_the_focus_and_stays_inside() -> None:
    plan = plan_resize("fill", 400, 300, 100, 300, Placement("face", focus=Box(300, 100, 40, 40)))
    assert plan.crop == Box(270, 0, 100, 300)
    edge = plan_resize("fill", 400, 300, 100, 300, Placement("face", focus=Box(390, 100, 10, 10)))
    assert edge.crop == Box(300, 0, 100, 300)


def test_crop_with_x_y_only_cuts_from_the_top_left_corner() -> None:
    assert plan_resize("crop", 400, 300, 100, 50, Placement(x=30, y=40)).pre_crop == Box(30, 40, 100, 50)


def test_thumb_keeps_the_face_with_context_and_zoom_widens_it() -> None:
    face = Box(200, 100, 40, 40)
    plan = plan_resize("thumb", 400, 300, 100, 100, Placement("face", focus=face))
    wider = plan_resize("thumb", 400, 300, 100, 100, Placement("face", focus=face), zoom=0.5)
    assert plan.resize == (100, 100) and plan.pre_crop is not None and wider.pre_crop is not None
    region = plan.pre_crop
    assert region.left <= face.left and region.left + region.width >= face.left + face.width
    assert wider.pre_crop.width > region.width


def test_pad_places_the_image_by_gravity() -> None:
    plan = plan_resize("pad", 400, 300, 200, 200, Placement("north"))
    assert plan.resize == (200, 150) and plan.pad == (200, 200, 0, 0)
    south = plan_resize("pad", 400, 300, 200, 200, Placement("south"))
    assert south.pad == (200, 200, 0, 50)


def test_no_box_means_no_work() -> None:
    assert plan_resize("fill", 400, 300, None, None) == Plan()


def test_placement_pushes_inward_from_compass_edges() -> None:
    assert place((50, 50), (400, 300), Placement("south_east", 10, 10), clamp=False) == (340, 240)
    assert place((50, 50), (400, 300), Placement("north_west", 10, 10), clamp=False) == (10, 10)
    assert place((50, 50), (400, 300), Placement("center", 10, -10), clamp=False) == (185, 115)


def test_aspect_ratio_derives_the_missing_side() -> None:
    assert derive_box(400, 300, 160, None, 16 / 9) == (160, 90)
    assert derive_box(400, 300, None, 90, 16 / 9) == (160, 90)
    assert derive_box(400, 300, None, None, 1.0) == (300, 300)


def test_rotation_grows_the_canvas() -> None:
    assert rotated_size(400, 300, 90) == (300, 400)
    assert rotated_size(100, 100, 45) == (141, 141)
