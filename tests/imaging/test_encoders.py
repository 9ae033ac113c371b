"""JPEG and WebP through Pillow's encoders: the files libvips would write, and libvips for
everything the fast path does not cover."""

from __future__ import annotations

import io

import pytest
import pyvips
from PIL import Image, JpegImagePlugin

from darkroom.imaging import RenderRequest, encoders, render
from darkroom.imaging.formats import EncodeOptions, encode
from darkroom.transform import parse


@pytest.fixture(scope="module")
def photo() -> pyvips.Image:
    from skimage import data

    astronaut = pyvips.Image.new_from_array(data.astronaut(), interpretation="srgb").cast("uchar")
    return astronaut.thumbnail_image(333, height=250, crop="centre").copy_memory()


def _libvips(image: pyvips.Image, fmt: str, quality: int, **options: object) -> bytes:
    if fmt == "webp":
        return bytes(image.webpsave_buffer(Q=quality, effort=2, smart_subsample=False, keep="none", **options))
    return bytes(image.jpegsave_buffer(Q=quality, optimize_coding=True, keep="none", **options))


def _pillow(image: pyvips.Image, fmt: str, quality: int = 80, **options: object) -> bytes:
    settings = {"progressive": False, "keep": "none", "chroma": None, **options}
    data = encoders.try_encode(image, fmt, quality, **settings)  # type: ignore[arg-type]
    assert data is not None, "this image should take the fast path"
    return data


@pytest.mark.parametrize("quality", [50, 80, 95])
def test_webp_is_the_file_libvips_writes(photo: pyvips.Image, quality: int) -> None:
    assert _pillow(photo, "webp", quality) == _libvips(photo, "webp", quality)


def test_webp_with_alpha_is_the_file_libvips_writes(photo: pyvips.Image) -> None:
    alpha = photo.bandjoin((photo.extract_band(0) > 128).ifthenelse(255, 40).cast("uchar"))
    data = _pillow(alpha, "webp")
    assert data == _libvips(alpha, "webp", 80)
    assert pyvips.Image.new_from_buffer(data, "").bands == 4


@pytest.mark.parametrize("quality", [60, 80, 92])
def test_jpeg_matches_libvips_in_size_and_pixels(photo: pyvips.Image, quality: int) -> None:
    ours, theirs = _pillow(photo, "jpg", quality), _libvips(photo, "jpg", quality)
    assert abs(len(ours) - len(theirs)) <= 0.01 * len(theirs)  # same tables, same Huffman optimisation
    difference = (pyvips.Image.new_from_buffer(ours, "") - pyvips.Image.new_from_buffer(theirs, "")).abs()
    assert difference.avg() < 0.5


@pytest.mark.parametrize(("quality", "chroma", "sampling"), [(80, None, 2), (90, None, 0), (80, "444", 0), (95, "420", 0)])
def test_jpeg_chroma_follows_libvips_rules(photo: pyvips.Image, quality: int, chroma: str | None, sampling: int) -> None:
    """4:2:0 below Q 90, full chroma from Q 90 or when q_…:444 asks."""
    decoded = Image.open(io.BytesIO(_pillow(photo, "jpg", quality, chroma=chroma)))
    assert JpegImagePlugin.get_sampling(decoded) == sampling


def test_progressive_jpeg_and_grey_jpeg(photo: pyvips.Image) -> None:
    assert b"\xff\xc2" in _pillow(photo, "jpg", progressive=True)  # SOF2
    grey = photo.colourspace("b-w")
    assert pyvips.Image.new_from_buffer(_pillow(grey, "jpg"), "").bands == 1


def test_icc_profile_is_kept_when_asked(photo: pyvips.Image) -> None:
    tagged = pyvips.Image.new_from_buffer(photo.jpegsave_buffer(keep="icc", profile="srgb"), "")
    profile = bytes(tagged.get("icc-profile-data"))
    for fmt in ("jpg", "webp"):
        kept = pyvips.Image.new_from_buffer(_pillow(tagged, fmt, keep="icc"), "")
        assert bytes(kept.get("icc-profile-data")) == profile
        stripped = pyvips.Image.new_from_buffer(_pillow(tagged, fmt, keep="none"), "")
        assert not stripped.get_typeof("icc-profile-data")


def test_what_the_fast_path_does_not_cover_goes_to_libvips(photo: pyvips.Image) -> None:
    def declined(image: pyvips.Image, fmt: str = "jpg", keep: str = "none") -> bool:
        return encoders.try_encode(image, fmt, 80, progressive=False, keep=keep, chroma=None) is None

    assert declined(photo.cast("ushort"))  # 16-bit
    assert declined(photo.colourspace("cmyk"))
    assert declined(photo, keep="icc,iptc")  # metadata Pillow would not carry
    assert declined(photo, fmt="png")
    frames = pyvips.Image.arrayjoin([photo, photo], across=1).copy()
    frames.set_type(pyvips.GValue.gint_type, "page-height", photo.height)
    assert declined(frames, fmt="webp")
    # …and encode() still writes those through libvips.
    cmyk = encode(photo.colourspace("cmyk"), EncodeOptions(format="jpg", quality=80, keep="none"))
    assert pyvips.Image.new_from_buffer(cmyk, "").interpretation == "cmyk"


def test_renders_deliver_through_the_fast_path(images: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    answered: list[bytes | None] = []
    real = encoders.try_encode

    def watched(*args: object, **kwargs: object) -> bytes | None:
        answered.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return answered[-1]

    monkeypatch.setattr(encoders, "try_encode", watched)
    for fmt, magic in (("jpg", b"\xff\xd8\xff"), ("webp", b"RIFF")):
        rendered = render(RenderRequest(images["jpg"], parse("c_fill,w_120,h_90"), source_format="jpg", requested_format=fmt))
        assert rendered.data.startswith(magic)
        assert (rendered.width, rendered.height) == (120, 90)
        assert answered[-1] == rendered.data  # Pillow wrote what was delivered
