"""The console's video player: the delivery URLs it plays and the subtitle tracks it offers.

Every URL is one an app would build with the SDK for the same asset, so what plays here
plays there:

| what | URL (after `/{cloud}/video/{type}/`) |
|---|---|
| grid thumbnail | `c_fill,h_320,w_320/v{version}/{public_id}.jpg` (the middle frame, as Cloudinary picks it) |
| poster | `c_limit,h_720,w_1280/v{version}/{public_id}.jpg` |
| adaptive stream | `sp_auto/v{version}/{public_id}.m3u8` (HLS, played through hls.js) |
| progressive | `v{version}/{public_id}.mp4` (the original when it is an MP4, else a transcode) |

Subtitle tracks are raw `.vtt` assets (of the video's delivery type), found three ways:

- by name: `{public_id}.vtt` and `{public_id}.{language}.vtt` (`dog.vtt`, `dog.en.vtt`,
  `dog.pt-BR.vtt`), the language taken from the name;
- chosen for good in the video's context: `subtitles=captions/dog-fr.vtt,captions/dog-de.vtt`;
- chosen for one visit with `?track=<raw public_id>` on the player page (repeatable).

A chosen file's language comes from its name when it ends in `.{language}.vtt`. `.srt` files
are not offered: browsers play WebVTT only (burn an `.srt` in with `l_subtitles` instead).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from darkroom import catalog
from darkroom.catalog.listing import Listing, list_resources
from darkroom.media.links import Links
from darkroom.media.services import Services

__all__ = [
    "HLS_JS", "SUBTITLES_CONTEXT_KEY", "Player", "Track", "frame_url", "hls_js_path", "hls_url", "player_for",
    "poster_url", "progressive_url", "subtitle_tracks", "track_language",
]

HLS_JS = Path(__file__).parent / "static" / "vendor" / "hls.js" / "hls.esm.js"  # put there by tools/install.sh
SUBTITLES_CONTEXT_KEY = "subtitles"
MAX_TRACKS = 20  # a page with more tracks than this is a mistake, not a film
THUMBNAIL = "c_fill,h_320,w_320"
POSTER = "c_limit,h_720,w_1280"

# ".en", ".pt-BR", ".zh-Hant": a BCP 47 tag of the common shapes, checked loosely.
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class Track:
    """One subtitle file offered as a text track: `<track src=url srclang=language label=label>`."""

    public_id: str
    url: str
    language: str  # "" when the name says none
    label: str


@dataclass(frozen=True)
class Player:
    """What a video's player page plays (templates/video_player.html)."""

    hls_url: str
    mp4_url: str
    poster_url: str
    hls_js: str  # the URL path of hls.js, "" when not installed
    tracks: list[Track]
    context_key: str = SUBTITLES_CONTEXT_KEY


async def player_for(services: Services, links: Links, video: catalog.Asset, requested: Sequence[str] = ()) -> Player:
    """The player of `video`, with `requested` raw public IDs as extra tracks (the page's `?track=`).
    A signed video's URLs are signed (`console.links`); a signed master covers its playlists and segments."""
    tracks = await subtitle_tracks(services, links, video, requested)
    return Player(hls_url(links, video), progressive_url(links, video), poster_url(links, video), hls_js_path(), tracks)


def frame_url(links: Links, video: catalog.Asset) -> str:
    """The grid's square thumbnail: the video's middle frame, cropped to fill."""
    return links.url(video, THUMBNAIL, "jpg")


def poster_url(links: Links, video: catalog.Asset) -> str:
    return links.url(video, POSTER, "jpg")


def hls_url(links: Links, video: catalog.Asset) -> str:
    return links.url(video, "sp_auto", "m3u8")


def progressive_url(links: Links, video: catalog.Asset) -> str:
    return links.url(video, "", "mp4")


def hls_js_path() -> str:
    """The URL path of the installed hls.js, or "" when the set-up had no npm to install it."""
    return "/console/static/vendor/hls.js/hls.esm.js" if HLS_JS.is_file() else ""


def track_language(video_public_id: str, raw_public_id: str) -> str | None:
    """The language a raw file's name gives it as a track of the video; None if the name is no track's.

    >>> track_language("clips/dog", "clips/dog.en.vtt"), track_language("clips/dog", "clips/dog.vtt")
    ('en', '')
    """
    if not raw_public_id.startswith(video_public_id + ".") or not raw_public_id.lower().endswith(".vtt"):
        return None
    middle = raw_public_id[len(video_public_id) + 1 : -len(".vtt")]
    if middle == "":
        return ""
    return middle if _LANGUAGE.fullmatch(middle) else None


def _language_of_chosen(raw_public_id: str) -> str:
    """`captions/dog-fr.vtt` says nothing; `captions/dog.fr.vtt` says French."""
    stem = raw_public_id[: -len(".vtt")] if raw_public_id.lower().endswith(".vtt") else raw_public_id
    name = stem.rsplit("/", 1)[-1]
    if "." not in name:
        return ""
    candidate = name.rsplit(".", 1)[1]
    return candidate if _LANGUAGE.fullmatch(candidate) else ""


def chosen_track_ids(video: catalog.Asset, requested: Iterable[str]) -> list[str]:
    """The raw public IDs named in the video's `subtitles` context, then those asked for, once each."""
    named = video.context.get(SUBTITLES_CONTEXT_KEY, "").split(",")
    seen: list[str] = []
    for public_id in (*named, *requested):
        public_id = public_id.strip()
        if public_id and public_id not in seen:
            seen.append(public_id)
    return seen[:MAX_TRACKS]


async def subtitle_tracks(services: Services, links: Links, video: catalog.Asset, requested: Sequence[str] = ()) -> list[Track]:
    """The video's tracks: those named after it (by language), then the chosen ones that exist."""
    listing = Listing(resource_type="raw", type=video.type, prefix=f"{video.public_id}.", direction="asc", max_results=100)
    page = await services.db(list_resources, video.cloud, listing)
    tracks: list[Track] = []
    for raw in page.assets:
        language = track_language(video.public_id, raw.public_id)
        if language is not None:
            tracks.append(_track(links, raw, language))
    for public_id in chosen_track_ids(video, requested):
        if any(track.public_id == public_id for track in tracks):
            continue
        chosen = await services.db(catalog.get_asset, video.cloud, "raw", video.type, public_id)
        if chosen is not None:
            tracks.append(_track(links, chosen, _language_of_chosen(public_id)))
    return tracks[:MAX_TRACKS]


def _track(links: Links, raw: catalog.Asset, language: str) -> Track:
    label = language or raw.public_id.rsplit("/", 1)[-1]
    return Track(raw.public_id, links.url(raw), language, label)
