"""The video planner without running anything: URL → output, geometry, trims, ffmpeg arguments.

Table-driven, pure: each row is a transformation and what it must plan. The live tests
(test_delivery_transformations.py) check that what is planned is what comes out.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import pytest

import darkroom.transform
import darkroom.video
from darkroom.errors import DarkroomError
from darkroom.transform import parse
from darkroom.video import FfmpegPlan, LayerFile, SourceFacts, TranscodeRequest, UnsupportedVideoTransformation, auto_choice, choose_output, plan_transcode, sprite_index, sprite_layout
from darkroom.video.geometry import plan_resize
from darkroom.video.transcode import trim_window

HD = SourceFacts(1920, 1080, 10.0, 30, has_video=True, has_audio=True)
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
IPHONE_CHROME = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari/604.1"


@pytest.mark.parametrize(
    ("transformation", "size"),
    [
        ("w_640", (640, 360)),
        ("h_240", (426, 240)),  # 426.67 → even
        ("w_0.5", (960, 540)),
        ("c_fit,w_500,h_500", (500, 282)),
        ("c_limit,w_4000", (1920, 1080)),
        ("c_fill,w_300,h_300", (300, 300)),
        ("c_lfill,w_4000,h_4000", (1920, 1080)),  # smaller than the box: as it is
        ("c_lfill,w_2000,h_1000", (1920, 960)),  # the box's shape, not enlarged
        ("c_pad,w_300,h_300,b_blue", (300, 300)),
        ("c_crop,w_100,h_50,g_north_west", (100, 50)),
        ("ar_1:1,c_fill", (1080, 1080)),
        ("ar_16:9,w_322", (322, 180)),  # 181 high → even
    ],
)
def test_resize_and_crop_modes_plan_the_frame_size(transformation: str, size: tuple[int, int]) -> None:
    _, width, height = plan_resize(parse(transformation).components[0], 1920, 1080)
    assert (width, height) == size


@pytest.mark.parametrize(
    ("transformation", "window"),
    [
        ("so_2", (2.0, 10.0)),
        ("so_2,du_3", (2.0, 5.0)),
        ("so_10p,eo_90p", (1.0, 9.0)),
        ("du_50p", (0.0, 5.0)),
        ("eo_20", (0.0, 10.0)),  # past the end: the end
    ],
)
def test_trims_in_seconds_and_percentages(transformation: str, window: tuple[float, float]) -> None:
    assert trim_window(list(parse(transformation).components), 10.0) == window


@pytest.mark.parametrize(
    ("accept", "agent", "choice"),
    [
        ("*/*", CHROME, "webm"),
        ("*/*", FIREFOX, "webm"),
        ("*/*", SAFARI, "hevc"),
        ("*/*", IPHONE_CHROME, "hevc"),
        ("video/webm,*/*", "SomePlayer/1.0", "webm"),
        ("*/*", "curl/8.0", "h264"),
        ("", "", "h264"),
    ],
)
def test_f_auto_chooses_by_accept_and_user_agent(accept: str, agent: str, choice: str) -> None:
    assert auto_choice(accept, agent, is_audio=False) == choice
    output = choose_output(parse("f_auto:video"), requested_format=None, source_format="mov", is_audio=False, accept=accept, user_agent=agent)
    assert output.vary == "Accept, User-Agent"


@pytest.mark.parametrize(
    ("transformation", "extension", "kind", "fmt"),
    [
        ("", "webm", "video", "webm"),
        ("f_mp4", "webm", "video", "mp4"),  # f_ wins over the extension
        ("so_2", "jpg", "frame", "jpg"),
        ("fl_sprite", "vtt", "sprite_index", "vtt"),
        ("fl_sprite", "png", "sprite", "png"),
        ("fl_animated", "webp", "animation", "webp"),
        ("", "gif", "animation", "gif"),
        ("", "mp3", "audio", "mp3"),
        ("f_auto:image", None, "frame", "jpg"),
        ("f_auto", "jpg", "frame", "jpg"),
        ("f_auto", None, "video", "mp4"),
        ("fl_waveform", "png", "waveform", "png"),
    ],
)
def test_the_extension_or_f_decides_what_is_made(transformation: str, extension: str | None, kind: str, fmt: str) -> None:
    output = choose_output(parse(transformation), requested_format=extension, source_format="mp4", is_audio=False)
    assert (output.kind, output.format) == (kind, fmt)


def _plan(
    transformation: str, extension: str = "mp4", facts: SourceFacts = HD, layers: Mapping[str, LayerFile] | None = None, scratch: Path | None = None
) -> FfmpegPlan:
    chain = parse(transformation)
    output = choose_output(chain, requested_format=extension, source_format="mp4", is_audio=not facts.has_video)
    return plan_transcode(TranscodeRequest(Path("in.mp4"), facts, chain, output, layers or {}, scratch))


def _arguments(transformation: str, extension: str, facts: SourceFacts = HD) -> list[str]:
    return _plan(transformation, extension, facts).arguments(Path("out"))


@pytest.mark.parametrize(("angle", "size"), [("a_90", (1080, 1920)), ("a_-90", (1080, 1920)), ("a_180", (1920, 1080)), ("a_hflip", (1920, 1080))])
def test_quarter_turns_and_flips(angle: str, size: tuple[int, int]) -> None:
    plan = _plan(angle)
    assert (plan.width, plan.height) == size


def test_default_mp4_is_h264_yuv420p_aac_with_the_index_first() -> None:
    args = _arguments("w_640", "mp4")
    assert args[args.index("-c:v") + 1] == "libx264" and args[args.index("-c:a") + 1] == "aac"
    assert "format=yuv420p" in args[args.index("-filter_complex") + 1]
    assert args[args.index("-movflags") + 1] == "+faststart"


def test_trims_seek_the_input_before_decoding() -> None:
    args = _arguments("so_2,du_3", "mp4")
    assert args[: args.index("-i")] == ["-ss", "2.000", "-t", "3.000"]


def test_quality_targets_become_constant_rate_factors() -> None:
    crf = {q: int((a := _arguments(f"q_{q}", "mp4"))[a.index("-crf") + 1]) for q in ("auto:best", "auto", "auto:eco", "auto:low")}
    assert crf["auto:best"] < crf["auto"] < crf["auto:eco"] < crf["auto:low"]
    constant = _arguments("br_1m:constant", "mp4")
    assert constant[constant.index("-minrate") + 1] == constant[constant.index("-maxrate") + 1] == "1000000"


@pytest.mark.parametrize(
    ("transformation", "extension", "message"),
    [
        ("e_sepia", "mp4", "e_sepia"),
        ("vc_h264", "webm", "cannot be stored in webm"),
        ("ac_vorbis", "mp4", "cannot be stored in mp4"),
        ("so_11", "mp4", "past the end"),
        ("so_5,eo_2", "mp4", "after the start"),
        ("c_imagga_scale,w_100", "mp4", "c_imagga_scale"),
        ("a_45", "mp4", "a_45"),
        ("dpr_2.0", "mp4", "dpr_"),
        ("w_auto", "mp4", "automatic"),
        ("l_video:other", "mp4", "other"),
    ],
)
def test_what_cannot_be_planned_names_itself(transformation: str, extension: str, message: str) -> None:
    with pytest.raises(UnsupportedVideoTransformation, match=message):
        _arguments(transformation, extension)


@pytest.mark.parametrize("family", ["Arial',x='1", "A,movie=x", "A[b]", "A;b", "A=b"])
def test_subtitle_fonts_cannot_reach_the_filter_graph(family: str) -> None:
    with pytest.raises(UnsupportedVideoTransformation, match="font"):
        _plan(f"l_subtitles:{quote(family, safe='')}_20:captions.srt", layers={"subtitles:captions.srt": LayerFile(Path("captions.srt"))})


def test_fractional_bit_rates_plan_bits_per_second() -> None:
    args = _arguments("br_1.5m", "mp4")
    assert args[args.index("-b:v") + 1] == "1500000"
    constant = _arguments("br_2.5m:constant", "webm")
    assert constant[constant.index("-minrate") + 1] == "2500000"


def test_loops_and_the_planned_length_are_bounded() -> None:
    assert _arguments("e_loop:100", "mp4").count("-i") == 101
    many = "/".join(["e_loop:100"] * 64)  # 6,401 inputs before the cap
    with pytest.raises(UnsupportedVideoTransformation, match="Too many loops"):
        _arguments(many, "mp4")
    half_minute = SourceFacts(640, 360, 30.0, 30, has_video=True, has_audio=True)
    with pytest.raises(UnsupportedVideoTransformation, match="at most 3600"):
        _arguments("e_loop:50/e_loop:50/e_accelerate:-50", "mp4", half_minute)  # 30 s x 101, then slowed down
    long = SourceFacts(640, 360, 7200.0, 30, has_video=True, has_audio=True)
    assert "-i" in _arguments("w_320", "mp4", long)  # a long source still transcodes whole


@pytest.mark.parametrize("folder", ["data's", "da:ta", "da,ta", "da;ta", "da\\ta"])
def test_subtitle_files_in_a_path_filters_cannot_quote_are_refused(folder: str) -> None:
    layer = LayerFile(Path(f"/srv/{folder}/spool/captions.srt"))
    with pytest.raises(DarkroomError, match="data directory") as caught:
        _plan("l_subtitles:captions.srt", layers={"subtitles:captions.srt": layer})
    assert not isinstance(caught.value, UnsupportedVideoTransformation)  # the server's fault, not the URL's
    assert folder in (caught.value.detail or "")


def test_reverse_refuses_clips_too_long_to_hold_in_memory() -> None:
    long = SourceFacts(1920, 1080, 600.0, 30, has_video=True, has_audio=True)
    with pytest.raises(UnsupportedVideoTransformation, match="trim it"):
        _arguments("e_reverse", "mp4", long)
    assert "reverse" in " ".join(_arguments("du_2/e_reverse", "mp4", long))


def test_sprite_index_cues_match_the_layout() -> None:
    layout = sprite_layout(parse("fl_sprite,vs_4"), HD)
    assert (layout.count, layout.interval, layout.tile_width, layout.tile_height, layout.columns) == (4, 2.5, 160, 90, 4)
    text = sprite_index(layout, "dog.jpg", HD.duration)
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\ndog.jpg#xywh=0,0,160,90\n")
    assert "00:00:07.500 --> 00:00:10.000\ndog.jpg#xywh=480,0,160,90" in text


def test_video_reads_transform_only_through_its_public_surface() -> None:
    for module in sorted(Path(darkroom.video.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("darkroom.transform"):
                assert node.module == "darkroom.transform", f"{module.name} imports {node.module}"
                assert all(alias.name in darkroom.transform.__all__ for alias in node.names), module.name


def test_each_layer_without_fl_layer_apply_is_its_own_overlay(tmp_path: Path) -> None:
    captions = {"subtitles:captions.srt": LayerFile(Path("captions.srt"))}
    plan = _plan("l_subtitles:captions.srt/l_text:Arial_30:Hi,g_north,so_0.5", layers=captions, scratch=tmp_path / "video")
    graph = ";".join(plan.filters)
    assert "subtitles=" in graph and "overlay=" in graph and "enable='between(t,0.5,10)'" in graph


@pytest.mark.parametrize(("transformation", "expected"), [("e_loop:1,ac_none", "concat=n=2:v=1:a=0"), ("du_2/e_volume:50/e_boomerang", "anullsink")])
def test_streams_the_output_drops_leave_no_filter_dangling(transformation: str, expected: str) -> None:
    args = _arguments(transformation, "mp4")
    assert expected in args[args.index("-filter_complex") + 1]
    assert "-an" in args
