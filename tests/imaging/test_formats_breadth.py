"""Formats the libvips build here cannot read, through the official SDK against a live server
(SQLite and PostgreSQL): BMP, ICO and JPEG XL originals (Pillow), PDF documents (PDFium) with
pages, `pg_`, `dn_` and `fl_rasterize`; `f_jxl` output; SVG from `e_vectorize`; and the
responsive breakpoints (`w_auto:breakpoints…:json`, `responsive_breakpoints`' ends)."""

from __future__ import annotations

import io
import json
import secrets
import struct
from pathlib import Path

import cloudinary.uploader
import cloudinary.utils
import httpx
import pillow_jxl  # noqa: F401  (registers JPEG XL with Pillow, to read what darkroom writes)
import pytest
from cloudinary.exceptions import BadRequest, Error
from PIL import Image

from support import LiveServer

PAGE_COLOURS = [(255, 0, 0), (0, 160, 0), (0, 0, 255)]


def _url(public_id: str, **options: object) -> str:
    return cloudinary.utils.cloudinary_url(public_id, **options)[0]


def _get(url: str) -> httpx.Response:
    response = httpx.get(url)
    assert response.status_code == 200, (url, response.status_code, response.headers.get("x-cld-error"))
    return response


def _picture(url: str) -> Image.Image:
    picture = Image.open(io.BytesIO(_get(url).content))
    picture.load()
    return picture


def _centre(picture: Image.Image) -> tuple[int, int, int]:
    red, green, blue = picture.convert("RGB").getpixel((picture.width // 2, picture.height // 2))  # type: ignore[misc]
    return red, green, blue


def _near(colour: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


def _unique(name: str) -> str:
    return f"breadth/{name}-{secrets.token_hex(3)}"


@pytest.fixture
def photo(tmp_path: Path) -> Image.Image:
    """A 160×120 picture with a colour per quadrant, to tell crops and pages apart."""
    picture = Image.new("RGB", (160, 120), (250, 200, 0))
    picture.paste((20, 40, 200), (0, 0, 80, 60))
    return picture


# ---------------------------------------------------------------- BMP, ICO, JPEG XL


def test_bmp_originals_are_images_delivered_and_transformed(cld: LiveServer, tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "photo.bmp"
    photo.save(path)
    result = cloudinary.uploader.upload(str(path), public_id=_unique("bmp"))
    assert (result["resource_type"], result["format"], result["width"], result["height"]) == ("image", "bmp", 160, 120)
    original = _get(_url(result["public_id"], format="bmp", version=result["version"]))
    assert original.content == path.read_bytes() and original.headers["content-type"] == "image/bmp"
    as_png = _picture(_url(result["public_id"], format="png"))
    assert as_png.format == "PNG" and as_png.size == (160, 120)
    assert _near(as_png.convert("RGB").getpixel((10, 10)), (20, 40, 200))  # type: ignore[arg-type]
    scaled = _picture(_url(result["public_id"], format="jpg", width=40, crop="scale", effect="grayscale"))
    assert scaled.size == (40, 30) and scaled.format == "JPEG"
    red, green, blue = _centre(scaled)
    assert abs(red - blue) <= 3


def test_ico_originals_are_images_of_their_largest_icon(cld: LiveServer, tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "favicon.ico"
    photo.resize((64, 48)).save(path, sizes=[(64, 48), (16, 12)])
    result = cloudinary.uploader.upload(str(path), public_id=_unique("ico"))
    assert (result["resource_type"], result["format"], result["width"], result["height"]) == ("image", "ico", 64, 48)
    assert _get(_url(result["public_id"], format="ico")).content == path.read_bytes()
    assert _picture(_url(result["public_id"], format="png", width=32, crop="scale")).size == (32, 24)


def test_jxl_originals_and_f_jxl_output(cld: LiveServer, tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "photo.jxl"
    photo.save(path, quality=95)
    result = cloudinary.uploader.upload(str(path), public_id=_unique("jxl"))
    assert (result["format"], result["width"], result["height"]) == ("jxl", 160, 120)
    assert _picture(_url(result["public_id"], format="png")).size == (160, 120)
    # f_jxl from a JPEG: a real JPEG XL file (pillow-jxl-plugin's encoder)
    jpeg = tmp_path / "photo.jpg"
    photo.save(jpeg, quality=95)
    uploaded = cloudinary.uploader.upload(str(jpeg), public_id=_unique("to-jxl"))
    response = _get(_url(uploaded["public_id"], fetch_format="jxl", width=80, crop="scale"))
    assert response.headers["content-type"] == "image/jxl" and response.content[:2] == b"\xff\x0a"
    decoded = Image.open(io.BytesIO(response.content))
    assert decoded.size == (80, 60) and _near(_centre(decoded), (250, 200, 0), 20)


def _bmp_header_only(width: int, height: int) -> bytes:
    """A BMP whose header claims `width`×`height` and whose pixels are missing."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 16, 0, 0, 14 + len(info)) + info + b"\x00" * 16


def test_a_bmp_too_large_is_refused_from_its_header(cld: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "bomb.bmp"
    path.write_bytes(_bmp_header_only(60_000, 60_000))  # 3.6 gigapixels declared in 70 bytes
    with pytest.raises(Error, match="too large"):
        cloudinary.uploader.upload(str(path), public_id=_unique("bomb"))


def _icon_hiding_a_large_png(side: int) -> bytes:
    """An ICO whose directory says 256×256 and whose PNG entry's own header says side×side."""
    ihdr = struct.pack(">II", side, side) + bytes((8, 6, 0, 0, 0))
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + b"\x00" * 4
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


def _jxl_header_only(side: int) -> bytes:
    """A bare JPEG XL codestream whose size header says side×side (LSB-first bits), and no pixels."""
    fields = [(0, 1), (2, 2), (side - 1, 18), (1, 3)]  # not small; 18-bit height; ratio 1:1
    value, position = 0, 0
    for field, width in fields:
        value |= field << position
        position += width
    return b"\xff\x0a" + value.to_bytes((position + 7) // 8, "little") + b"\x00" * 32


@pytest.mark.parametrize(("name", "data"), [("icon.ico", _icon_hiding_a_large_png(20_000)), ("huge.jxl", _jxl_header_only(20_000))])
def test_declared_sizes_are_checked_before_decoding(cld: LiveServer, tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(Error, match="too large"):
        cloudinary.uploader.upload(str(path), public_id=_unique("declared"))


def test_jxl_size_header_is_read_without_decoding(tmp_path: Path) -> None:
    from darkroom.imaging.foreign import jxl_size

    for width, height in [(1, 1), (8, 8), (160, 120), (513, 777), (1920, 1080), (5000, 3000)]:
        encoded = io.BytesIO()
        Image.new("RGB", (width, height)).save(encoded, "JXL", effort=1)
        codestream = encoded.getvalue()
        assert jxl_size(codestream) == (width, height)
        container = b"\x00\x00\x00\x0cJXL \r\n\x87\n" + struct.pack(">I", 8 + len(codestream)) + b"jxlc" + codestream
        assert jxl_size(container) == (width, height)
    assert jxl_size(_jxl_header_only(20_000)) == (20_000, 20_000)


def test_a_text_that_starts_like_a_bitmap_stays_raw(cld: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"BMW service notes\n" * 20)  # "BM": a bitmap's two magic bytes, by chance
    result = cloudinary.uploader.upload(str(path), public_id=_unique("notes"), resource_type="auto")
    assert result["resource_type"] == "raw"


# ---------------------------------------------------------------- PDF


@pytest.fixture
def document(tmp_path: Path) -> Path:
    """Three A6-ish pages (298×420 pt), red, green and blue."""
    pages = [Image.new("RGB", (298, 420), colour) for colour in PAGE_COLOURS]
    path = tmp_path / "brochure.pdf"
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=72)
    return path


@pytest.mark.parametrize("resource_type", ["image", "auto"])
def test_pdf_is_an_image_resource_with_pages(cld: LiveServer, document: Path, resource_type: str) -> None:
    result = cloudinary.uploader.upload(str(document), public_id=_unique("pdf"), resource_type=resource_type)
    assert (result["resource_type"], result["format"], result["pages"]) == ("image", "pdf", 3)
    assert (result["width"], result["height"]) == (621, 875)  # 298×420 pt at 150 dpi
    original = _get(_url(result["public_id"], format="pdf"))
    assert original.content == document.read_bytes() and original.headers["content-type"] == "application/pdf"


def test_pdf_pages_deliver_as_jpg_and_png(cld: LiveServer, document: Path) -> None:
    public_id = cloudinary.uploader.upload(str(document), public_id=_unique("pages"))["public_id"]
    first = _picture(_url(public_id, format="jpg"))
    assert first.format == "JPEG" and first.size == (621, 875) and _near(_centre(first), PAGE_COLOURS[0])
    for number, colour in enumerate(PAGE_COLOURS, start=1):
        page = _picture(_url(public_id, format="png", page=number, width=100, crop="scale"))
        assert page.format == "PNG" and page.size == (100, 141) and _near(_centre(page), colour), number


def test_pdf_density_and_rasterize(cld: LiveServer, document: Path) -> None:
    public_id = cloudinary.uploader.upload(str(document), public_id=_unique("density"))["public_id"]
    assert _picture(_url(public_id, format="png", density=72)).size == (298, 420)
    assert _picture(_url(public_id, format="png", density=300, page=2)).size == (1242, 1750)
    rasterized = _get(_url(public_id, format="pdf", flags="rasterize", width=149, crop="scale"))
    assert rasterized.content.startswith(b"%PDF-") and rasterized.content != document.read_bytes()


def _pdf_pages(data: bytes) -> list[tuple[int, int, int]]:
    """The centre colour of each page of a PDF darkroom wrote (PDFium reads it back)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        return [_centre(document[index].render(scale=0.25).to_pil()) for index in range(len(document))]
    finally:
        document.close()


def test_pdf_page_lists_and_ranges_deliver_those_pages(cld: LiveServer, document: Path) -> None:
    public_id = cloudinary.uploader.upload(str(document), public_id=_unique("ranges"))["public_id"]
    for spec, expected in [("2-3", [1, 2]), ("1;3", [0, 2]), ("2-", [1, 2]), ("3;1", [2, 0])]:
        data = _get(_url(public_id, format="pdf", page=spec, width=150, crop="scale")).content
        colours = _pdf_pages(data)
        assert len(colours) == len(expected) and all(_near(c, PAGE_COLOURS[i], 20) for c, i in zip(colours, expected)), spec
    first_of_range = _picture(_url(public_id, format="png", page="2-3"))  # an image format shows the first
    assert _near(_centre(first_of_range), PAGE_COLOURS[1])


def test_explode_renders_every_pdf_page(cld: LiveServer, document: Path) -> None:
    upload = cloudinary.uploader.upload(str(document), public_id=_unique("explode"))
    result = cloudinary.uploader.explode(upload["public_id"], page="all", format="png")
    assert result["batch_id"]
    for number, colour in enumerate(PAGE_COLOURS, start=1):
        page = _picture(_url(upload["public_id"], page=number, format="png", version=upload["version"]))
        assert page.size == (621, 875) and _near(_centre(page), colour), number


def test_a_page_beyond_the_document_is_a_400(cld: LiveServer, document: Path) -> None:
    public_id = cloudinary.uploader.upload(str(document), public_id=_unique("beyond"))["public_id"]
    for page in (4, "2-4", "3-1"):
        response = httpx.get(_url(public_id, format="jpg", page=page))
        assert response.status_code == 400 and "page" in response.headers["x-cld-error"], page


# ---------------------------------------------------------------- vectorize


def test_vectorize_delivers_svg(cld: LiveServer, tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "photo.png"
    photo.save(path)
    public_id = cloudinary.uploader.upload(str(path), public_id=_unique("vector"))["public_id"]
    response = _get(_url(public_id, format="svg", effect="vectorize:colors:2"))
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in response.headers["content-security-policy"]
    body = response.content.decode()
    assert body.startswith("<svg") and "<script" not in body and body.count("<path") >= 2
    assert httpx.get(_url(public_id, format="svg", effect="sepia")).status_code == 400


# ---------------------------------------------------------------- responsive breakpoints


def test_w_auto_breakpoints_json_lists_the_widths(cld: LiveServer, images: dict[str, str], tmp_path: Path) -> None:
    wide = tmp_path / "wide.jpg"
    Image.open(images["astronaut"]).convert("RGB").resize((900, 600)).save(wide, quality=90)
    public_id = cloudinary.uploader.upload(str(wide), public_id=_unique("auto"))["public_id"]
    response = _get(_url(public_id, transformation=[{"width": "auto:breakpoints:json", "crop": "scale"}]))
    assert response.headers["content-type"].startswith("application/json")
    widths = json.loads(response.content)["breakpoints"]
    assert widths == sorted(widths) and widths[0] == 50 and widths[-1] == 900  # max_width 1000, capped at the image's
    custom = json.loads(_get(_url(public_id, width="auto:breakpoints_100_600_5_6:json", crop="scale")).content)["breakpoints"]
    assert custom[0] == 100 and custom[-1] == 600 and 2 <= len(custom) <= 6
    assert httpx.get(_url(public_id, width="auto:breakpoints_600_100:json", crop="scale")).status_code == 400


def test_w_auto_breakpoints_with_huge_settings_is_bounded_or_a_400(cld: LiveServer, images: dict[str, str], tmp_path: Path) -> None:
    wide = tmp_path / "wide.jpg"
    Image.open(images["astronaut"]).convert("RGB").resize((900, 600)).save(wide, quality=90)
    public_id = cloudinary.uploader.upload(str(wide), public_id=_unique("auto-huge"))["public_id"]
    # 1 KB steps over 1..900 px, 200 images: answered from a bounded number of renders.
    response = httpx.get(_url(public_id, width="auto:breakpoints_1_100000_1_200:json", crop="scale"), timeout=60)
    assert response.status_code == 200, response.headers.get("x-cld-error")
    widths = json.loads(response.content)["breakpoints"]
    assert widths == sorted(widths) and widths[0] == 1 and widths[-1] == 900 and len(widths) <= 200
    for settings in ("breakpoints_1_" + "9" * 40, "breakpoints_1_1000000_20_20", "breakpoints_1_1000_20_201"):
        refused = httpx.get(_url(public_id, width=f"auto:{settings}:json", crop="scale"))
        assert refused.status_code == 400 and "Invalid width parameter" in refused.headers["x-cld-error"]


def test_w_auto_breakpoints_serves_the_breakpoint_above_the_clients_width(cld: LiveServer, images: dict[str, str], tmp_path: Path) -> None:
    wide = tmp_path / "wide.jpg"
    Image.open(images["astronaut"]).convert("RGB").resize((900, 600)).save(wide, quality=90)
    public_id = cloudinary.uploader.upload(str(wide), public_id=_unique("auto-width"))["public_id"]
    listed = json.loads(_get(_url(public_id, width="auto:breakpoints:json", crop="scale")).content)["breakpoints"]
    url = _url(public_id, width="auto:breakpoints", crop="scale")
    for client in (1, listed[1] - 1, listed[1], listed[-2] + 1, 5000):
        expected = next((width for width in listed if width >= client), listed[-1])
        response = httpx.get(url, headers={"Width": str(client)})
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.content)).width == expected, client
    assert Image.open(io.BytesIO(_get(url).content)).width == 900  # no hint: the picture's own size


def test_responsive_breakpoints_always_list_both_ends(cld: LiveServer, tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (640, 480), (90, 120, 150)).save(flat)  # every width compresses alike
    result = cloudinary.uploader.upload(
        str(flat), public_id=_unique("ends"),
        responsive_breakpoints={"create_derived": False, "bytes_step": 20000, "min_width": 200, "max_width": 1000},
    )
    widths = [point["width"] for point in result["responsive_breakpoints"][0]["breakpoints"]]
    assert widths == [640, 200]  # max_width capped at the image's width, then min_width


def test_pdf_upload_through_a_broken_file_is_a_400(cld: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n% not really a document\n")
    with pytest.raises(BadRequest):
        cloudinary.uploader.upload(str(path), public_id=_unique("broken"))
