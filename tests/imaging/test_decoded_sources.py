"""The memory of decoded sources: same pixels as decoding the file, found only by its key,
bounded in bytes, and used only for formats that cannot shrink while loading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvips

from darkroom.imaging import RenderRequest, render
from darkroom.imaging import decoded
from darkroom.imaging.decoded import DecodedSources
from darkroom.transform import parse

CHAINS = [
    "c_fill,w_333,h_300",
    "c_fill,w_150,h_150,g_auto",
    "c_pad,w_300,h_300,b_blue",
    "c_scale,w_0.5/e_sepia",
    "e_grayscale",
    "c_crop,w_100,h_80,x_10,y_20/a_90",
    "c_thumb,w_90,h_90,g_face",
]


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    decoded.configure(decoded.DEFAULT_BUDGET_BYTES)
    yield
    decoded.configure(decoded.DEFAULT_BUDGET_BYTES)


def _pixels(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def _same_pixels(a: bytes, b: bytes) -> bool:
    first, second = _pixels(a), _pixels(b)
    if (first.width, first.height, first.bands) != (second.width, second.height, second.bands):
        return False
    return (first - second).abs().max() == 0


@pytest.mark.parametrize("chain", CHAINS)
@pytest.mark.parametrize("source", ["gradient_png", "grey", "alpha_png", "logo"])
def test_rendering_from_memory_gives_the_pixels_decoding_the_file_gives(images: dict[str, str], source: str, chain: str) -> None:
    from_file = render(RenderRequest(images[source], parse(chain), source_format="png", requested_format="png"))
    first = render(RenderRequest(images[source], parse(chain), source_format="png", requested_format="png", source_key=f"{source}@1"))
    again = render(RenderRequest(images[source], parse(chain), source_format="png", requested_format="png", source_key=f"{source}@1"))
    assert _same_pixels(from_file.data, first.data)
    assert _same_pixels(from_file.data, again.data)
    assert len(decoded.shared()) == 1


def _solid_png(path: Path, colour: list[int]) -> None:
    (pyvips.Image.black(64, 48) + colour).cast("uchar").copy(interpretation="srgb").pngsave(str(path))


@pytest.fixture
def no_libvips_cache() -> Iterator[None]:
    """libvips keeps recent loads of a file name itself; these tests must see only ours."""
    operations = pyvips.cache_get_max()
    pyvips.cache_set_max(0)
    yield
    pyvips.cache_set_max(operations)


def test_a_key_finds_the_pixels_it_was_given_and_another_key_decodes_afresh(tmp_path: Path, no_libvips_cache: None) -> None:
    source = tmp_path / "asset.png"
    _solid_png(source, [255, 0, 0])
    render(RenderRequest(source, parse("c_scale,w_32"), source_format="png", requested_format="png", source_key="asset@v1"))
    _solid_png(source, [0, 0, 255])  # the next version's bytes, at a new key

    from_memory = _pixels(render(RenderRequest(source, parse("c_scale,w_20"), source_format="png", requested_format="png", source_key="asset@v1")).data)
    from_file = _pixels(render(RenderRequest(source, parse("c_scale,w_20"), source_format="png", requested_format="png", source_key="asset@v2")).data)

    assert from_memory(10, 10)[:3] == [255, 0, 0]  # the second size came from memory, not the file
    assert from_file(10, 10)[:3] == [0, 0, 255]


def test_without_a_key_nothing_is_kept(images: dict[str, str]) -> None:
    render(RenderRequest(images["grey"], parse("c_scale,w_100"), source_format="png", requested_format="jpg"))
    assert len(decoded.shared()) == 0


def test_sources_that_shrink_on_load_are_not_kept(images: dict[str, str]) -> None:
    render(RenderRequest(images["jpg"], parse("c_fill,w_100,h_100"), source_format="jpg", requested_format="jpg", source_key="photo@1"))
    assert len(decoded.shared()) == 0


def test_a_budget_of_zero_keeps_nothing(images: dict[str, str]) -> None:
    decoded.configure(0)
    render(RenderRequest(images["grey"], parse("c_scale,w_100"), source_format="png", requested_format="jpg", source_key="grey@1"))
    assert len(decoded.shared()) == 0


def test_the_least_recently_used_source_goes_first_when_the_budget_is_full() -> None:
    one_image = 100 * 100 * 3
    memory = DecodedSources(budget_bytes=2 * one_image)
    def card(shade: int) -> pyvips.Image:
        return (pyvips.Image.black(100, 100) + [shade] * 3).cast("uchar")

    memory.get("a", lambda: card(1))
    memory.get("b", lambda: card(2))
    memory.get("a", lambda: pytest.fail("a is held"))  # a is now the most recent
    memory.get("c", lambda: card(3))

    assert len(memory) == 2 and memory.bytes_held == 2 * one_image
    assert memory.get("a", lambda: pytest.fail("a is held")).avg() == 1
    assert memory.get("b", lambda: card(20)).avg() == 20  # b was evicted and decoded again


def test_a_source_too_big_for_a_quarter_of_the_budget_is_not_admitted() -> None:
    memory = DecodedSources(budget_bytes=64 * 1024 * 1024)
    assert memory.admits("png", 1024, 768, 1)
    assert not memory.admits("png", 4000, 3000, 1)  # 48 MB of RGBA: most of the budget
    assert not memory.admits("png", 100, 100, 3)  # animations decode frame by frame
    assert not memory.admits("jpg", 1024, 768, 1)
