"""The streaming ladder's planning and manifests, as pure functions (no server, no ffmpeg).

The table below is the spec of `plan_ladder`: a profile's rungs after the URL's other
components, cut at the source's size.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from darkroom.catalog.streaming import PREDEFINED
from darkroom.errors import Invalid
from darkroom.transform import Chain, parse
from darkroom.video.streaming import Ladder, audio_group, Source, StreamChild, dash_manifest, hls_master, hls_media_playlist, parse_child, plan_ladder

MPD = "{urn:mpeg:dash:schema:mpd:2011}"


def profile(name: str) -> list[Chain]:
    return [parse(item["transformation"]) for item in PREDEFINED[name][1]]


def sizes(ladder: Ladder) -> list[str]:
    return [f"{r.picture.width}x{r.picture.height}" for r in ladder.renditions]


HD_SOURCE = Source(1920, 1080, 60.0, 30.0, has_audio=True)


@pytest.mark.parametrize(("source", "common", "name", "expected"), [
    (HD_SOURCE, "", "hd", ["1280x720", "960x540", "640x360", "480x270", "320x180"]),
    (HD_SOURCE, "", "4k", ["1920x1080", "1280x720", "960x540", "640x360", "480x270", "320x180"]),
    (Source(640, 360, 5.0, 25.0, True), "", "hd", ["640x360", "480x270", "320x180"]),  # stops at the source
    (Source(1080, 1920, 5.0, 25.0, True), "", "hd", ["404x720", "304x540", "202x360", "152x270", "136x240"]),  # portrait
    (HD_SOURCE, "w_640", "full_hd", ["640x360", "480x270", "320x180"]),  # applies before every rung
    (HD_SOURCE, "c_fill,h_500,w_500", "sd", ["500x500", "360x360", "270x270", "240x240"]),
    (HD_SOURCE, "w_0.25", "hd", ["480x270", "320x180"]),
    (Source(641, 361, 5.0, 25.0, True), "", "sd", ["640x360", "480x270", "320x180"]),  # even sizes for 4:2:0
])
def test_ladder_follows_the_profile_and_stops_at_the_source_size(source: Source, common: str, name: str, expected: list[str]) -> None:
    assert sizes(plan_ladder(source, parse(common), profile(name))) == expected


def test_rungs_are_named_from_the_top_and_keep_their_bit_rates() -> None:
    ladder = plan_ladder(HD_SOURCE, Chain(), profile("hd"))
    assert [r.track for r in ladder.renditions] == ["v0", "v1", "v2", "v3", "v4"]
    assert [r.bit_rate for r in ladder.renditions] == [3_500_000, 2_000_000, 800_000, 600_000, 400_000]
    assert ladder.renditions[0].codecs == "avc1.64001f"  # High, level 3.1 for 720p30
    assert ladder.tracks[-1] == "a"


def test_a_common_bit_rate_or_silence_applies_to_every_rung() -> None:
    ladder = plan_ladder(HD_SOURCE, parse("br_300k,ac_none"), profile("sd"))
    assert {r.bit_rate for r in ladder.renditions} == {300_000}
    assert not ladder.has_audio and "a" not in ladder.tracks


@pytest.mark.parametrize("common", ["e_sepia", "c_pad,h_100,w_100", "vc_vp9", "so_2"])
def test_what_cannot_apply_to_a_ladder_is_refused(common: str) -> None:
    with pytest.raises(Invalid, match="not supported with streaming profiles"):
        plan_ladder(HD_SOURCE, parse(common), profile("hd"))


@pytest.mark.parametrize(("duration", "segments"), [
    (1.0, [(0.0, 1.0)]),
    (2.0, [(0.0, 2.0)]),
    (5.0, [(0.0, 2.0), (2.0, 3.0)]),
    (10.0, [(0.0, 2.0), (2.0, 4.0), (6.0, 4.0)]),
    (10.5, [(0.0, 2.0), (2.0, 4.0), (6.0, 4.0), (10.0, 0.5)]),
])
def test_segment_grid_is_fixed_by_the_duration(duration: float, segments: list[tuple[float, float]]) -> None:
    ladder = Ladder((), duration, True)
    assert [tuple(round(t, 6) for t in ladder.segment(i)) for i in range(ladder.segment_count)] == segments


def test_hls_playlists_point_below_the_master() -> None:
    ladder = plan_ladder(Source(640, 360, 10.5, 25.0, True), Chain(), profile("sd"))
    master = hls_master(ladder, "dog.m3u8")
    assert "./dog.m3u8/v0.m3u8" in master and 'URI="./dog.m3u8/a.m3u8"' in master
    media = hls_media_playlist(ladder, "v0")
    assert '#EXT-X-MAP:URI="v0/init.mp4"' in media and "#EXT-X-TARGETDURATION:4" in media
    assert [line for line in media.splitlines() if line.endswith(".m4s")] == ["v0/0.m4s", "v0/1.m4s", "v0/2.m4s", "v0/3.m4s"]


def test_dash_timeline_adds_up_to_the_duration() -> None:
    ladder = plan_ladder(Source(640, 360, 10.5, 25.0, True), Chain(), profile("sd"))
    root = ET.fromstring(dash_manifest(ladder, "a$b.mpd"))
    template = root.find(f"{MPD}Period/{MPD}AdaptationSet/{MPD}Representation/{MPD}SegmentTemplate")
    assert template is not None and template.get("media") == "./a$$b.mpd/v0/$Number$.m4s"  # "$" escaped for the template
    spans = [(int(s.get("d", 0)), int(s.get("r", 0))) for s in template.iter(f"{MPD}S")]
    assert spans == [(2000, 0), (4000, 1), (500, 0)]
    assert sum(d * (r + 1) for d, r in spans) == 10_500


def test_audio_is_encoded_in_groups_a_short_one_first() -> None:
    ladder = Ladder((), 130.0, True)  # 2 + 32 x 4 s: 33 segments
    groups = sorted({(g.start, g.stop) for g in (audio_group(ladder, i) for i in range(ladder.segment_count))})
    assert groups == [(0, 4), (4, 19), (19, 33)]


@pytest.mark.parametrize("child", [
    StreamChild("folder/dog.m3u8", "v0", "playlist"),
    StreamChild("dog.mpd", "a", "init"),
    StreamChild("a.m3u8/b/dog.m3u8", "v12", "segment", 417),
])
def test_child_urls_parse_back(child: StreamChild) -> None:
    assert parse_child(f"{child.master}/{child.suffix}") == child


@pytest.mark.parametrize("name", ["dog.m3u8", "dog.mp4/v0.m3u8", "dog.m3u8/x0.m3u8", "dog.m3u8/v0/../0.m4s", "dog.m3u8/v0/-1.m4s"])
def test_other_names_are_not_ladder_files(name: str) -> None:
    assert parse_child(name) is None
