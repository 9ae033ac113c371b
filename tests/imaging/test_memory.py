"""The render memory estimate, from a header and a chain alone (imaging.memory)."""

from __future__ import annotations

from darkroom.imaging.memory import ANIMATION_WORKING_COPIES, BYTES_PER_PIXEL, FOREIGN_DECODE_COPIES, FIXED_BYTES, WORKING_COPIES, SourceHeader, render_memory_bytes
from darkroom.transform import parse

MB = 1024 * 1024
HOSTILE_GIF = SourceHeader("gif", 300, 300, pages=1000)  # the 23 KB GIF


def estimate(header: SourceHeader, url: str) -> int:
    return render_memory_bytes(header, parse(url))


def test_a_full_size_render_holds_every_frame_decoded() -> None:
    frames = 1000 * 300 * 300 * BYTES_PER_PIXEL
    assert estimate(HOSTILE_GIF, "e_sepia") == frames * ANIMATION_WORKING_COPIES + FIXED_BYTES
    assert estimate(HOSTILE_GIF, "e_sepia") > 1000 * MB


def test_an_opening_resize_is_streamed_so_only_its_result_counts() -> None:
    # thumbnail shrinks every frame as it decodes it: 1,000 frames of 100×100.
    assert estimate(HOSTILE_GIF, "w_100") == 1000 * 100 * 100 * BYTES_PER_PIXEL * ANIMATION_WORKING_COPIES + FIXED_BYTES
    assert estimate(HOSTILE_GIF, "w_100") < 200 * MB
    assert estimate(HOSTILE_GIF, "w_100,h_50,c_fill") < estimate(HOSTILE_GIF, "w_100")


def test_a_resize_after_another_step_does_not_stream() -> None:
    assert estimate(HOSTILE_GIF, "e_sepia/w_100") == estimate(HOSTILE_GIF, "e_sepia")
    # A condition may skip the resize, an expression is known only while rendering.
    assert estimate(HOSTILE_GIF, "if_w_gt_5000,w_100/e_sepia") == estimate(HOSTILE_GIF, "e_sepia")
    assert estimate(HOSTILE_GIF, "w_iw_div_3") == estimate(HOSTILE_GIF, "e_sepia")
    # Faces are looked for in the decoded source before the resize.
    assert estimate(HOSTILE_GIF, "c_fill,g_face,w_100,h_100") == estimate(HOSTILE_GIF, "e_sepia")


def test_one_page_or_frame_decodes_alone() -> None:
    assert estimate(HOSTILE_GIF, "pg_2") == 300 * 300 * BYTES_PER_PIXEL * WORKING_COPIES + FIXED_BYTES
    document = SourceHeader("pdf", 600, 800, pages=500)  # a document renders one page (PDFium's copies too)
    assert estimate(document, "") == 600 * 800 * BYTES_PER_PIXEL * (WORKING_COPIES + FOREIGN_DECODE_COPIES) + FIXED_BYTES
    # `pg_` ranges decode every page they name
    assert estimate(document, "pg_2-4") > 3 * estimate(document, "pg_2") - 3 * FIXED_BYTES


def test_an_enlargement_counts_the_output() -> None:
    tiny = SourceHeader("png", 10, 10)
    assert estimate(tiny, "w_8000,h_8000,c_scale") == 8000 * 8000 * BYTES_PER_PIXEL * WORKING_COPIES + FIXED_BYTES
    assert estimate(tiny, "e_sepia/w_8000") == estimate(tiny, "w_8000")  # the largest size in the chain counts
    assert estimate(tiny, "w_4000,dpr_2.0") == estimate(tiny, "w_8000")


def test_a_vector_source_counts_at_its_density() -> None:
    svg = SourceHeader("svg", 9000, 9000)
    at_72_dpi = 9000 * 9000 * BYTES_PER_PIXEL * WORKING_COPIES + FIXED_BYTES
    assert estimate(svg, "e_sepia") == at_72_dpi
    assert estimate(svg, "dn_144,e_sepia") == (at_72_dpi - FIXED_BYTES) * 4 + FIXED_BYTES
    assert estimate(svg, "w_1900") < 100 * MB


def test_a_still_image_counts_one_frame() -> None:
    photo = SourceHeader("jpg", 4000, 3000)
    assert estimate(photo, "e_sepia") == 4000 * 3000 * BYTES_PER_PIXEL * WORKING_COPIES + FIXED_BYTES
    assert estimate(photo, "c_fill,w_300,h_200") < 40 * MB


def test_a_dpr_of_its_own_scales_the_sizes_after_it() -> None:
    """`dpr_3.0/w_2000` renders 6000 px wide, as `w_2000,dpr_3.0` does (it was counted at 2000)."""
    photo = SourceHeader("jpg", 1000, 1000)
    assert estimate(photo, "dpr_3.0/w_2000") == estimate(photo, "w_2000,dpr_3.0") == estimate(photo, "w_6000")
    assert estimate(photo, "dpr_3.0/w_2000") > estimate(photo, "w_2000")
