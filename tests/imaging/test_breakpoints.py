"""Choosing responsive breakpoint widths from measured sizes (`imaging.breakpoints`, pure)."""

from __future__ import annotations

import pytest

from darkroom.errors import Invalid
from darkroom.imaging.breakpoints import BreakpointSettings, choose_breakpoints


def _area(width: int) -> int:
    """A JPEG-like size model: bytes grow with area."""
    return width * width // 10 + 500


def test_widths_step_down_by_about_bytes_step() -> None:
    widths = choose_breakpoints(BreakpointSettings(min_width=100, max_width=1000, bytes_step=20000), 2000, _area)
    assert widths[0] == 1000 and widths[-1] == 100
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == len(widths)
    steps = [_area(a) - _area(b) for a, b in zip(widths, widths[1:-1])]
    assert all(19000 <= step <= 21000 for step in steps), steps


def test_the_top_width_is_capped_at_the_image_width() -> None:
    assert choose_breakpoints(BreakpointSettings(max_width=1000, bytes_step=5000), 400, _area)[0] == 400


def test_max_images_widens_the_step() -> None:
    widths = choose_breakpoints(BreakpointSettings(min_width=50, max_width=1000, bytes_step=1000, max_images=5), 1000, _area)
    assert len(widths) == 5 and widths[0] == 1000 and widths[-1] == 50
    assert choose_breakpoints(BreakpointSettings(max_images=1), 1000, _area) == [1000]


def test_a_range_smaller_than_one_step_still_lists_both_ends() -> None:
    assert choose_breakpoints(BreakpointSettings(min_width=90, max_width=100, bytes_step=20000), 1000, _area) == [100, 90]


def test_measurements_are_few_and_never_repeated() -> None:
    seen: list[int] = []

    def measure(width: int) -> int:
        seen.append(width)
        return _area(width)

    widths = choose_breakpoints(BreakpointSettings(bytes_step=10000), 1000, measure)
    assert len(seen) == len(set(seen))
    assert len(seen) <= 8 + 5 * len(widths)


def test_many_images_over_a_wide_range_cost_a_bounded_number_of_renders() -> None:
    seen: list[int] = []

    def measure(width: int) -> int:
        seen.append(width)
        return _area(width)

    widths = choose_breakpoints(BreakpointSettings(min_width=1, max_width=100000, bytes_step=1024, max_images=200), 4000, measure)
    assert len(seen) <= 30
    assert widths[0] == 4000 and widths[-1] == 1 and widths == sorted(widths, reverse=True) and len(widths) <= 200


@pytest.mark.parametrize(
    "settings",
    [dict(min_width=500, max_width=100), dict(min_width=0), dict(bytes_step=0), dict(max_images=0), dict(max_images=201)],
)
def test_bad_settings_are_a_400(settings: dict[str, int]) -> None:
    with pytest.raises(Invalid, match="responsive_breakpoints"):
        BreakpointSettings(**settings)  # type: ignore[arg-type]
