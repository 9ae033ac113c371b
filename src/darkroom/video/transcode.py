"""A parsed transformation `Chain` → one ffmpeg command that makes the derived file.

    plan = plan_transcode(TranscodeRequest(source, facts, chain, output, layers={}, scratch=spool / "video-1"))
    run_ffmpeg(plan.arguments(spool / "video-1-out"), timeout=600)

Deciding is separate from doing: `plan_transcode` reads the chain and the source's facts
(size, duration, streams: as probed at upload, never re-read) and returns an `FfmpegPlan`:
the inputs, one filter graph, the encoder options. Only text layers touch the disk while
planning (their picture is drawn by `imaging` into a scratch file).

The order, per component as the URL gives them: trims (`so_`/`eo_`/`du_`, on the input so
ffmpeg decodes nothing before the start), `e_loop` (the trimmed input opened again and
concatenated), then for each component: resize/crop, effects, `fps_`, `a_` (quarter turns,
flips), layers (image, text and video overlays with their timing (a video overlay's sound is
not mixed in), `fl_splice`, burned-in `l_subtitles:`). Layers are scoped as `imaging` scopes
them: an `l_` component and those up to the next `fl_layer_apply`. Encoder options
(`vc_`, `ac_`, `q_`, `br_`, `af_`, `ki_`: `encoders.py`) are read from the whole chain, the
last one given winning. Defaults: H.264 (`veryfast`, CRF 23, yuv420p) + AAC 128 kb/s in MP4 with the index
first (`faststart`), VP9 + Opus in WebM.

Streaming (HLS/DASH) applies a URL's components to every rendition with the same planner:
`plan_transcode` on the rendition's `Output`, then `FfmpegPlan.video_label` is the filtered
video to scale per rendition and `FfmpegPlan.encoder_arguments` the quality options.

What darkroom cannot do raises `UnsupportedVideoTransformation` (a 400 naming it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from darkroom.errors import DarkroomError
from darkroom.transform import Chain, Component, Effect, Layer, Pixels, rgba
from darkroom.video.encoders import choose_codecs, encoder_arguments, muxer_arguments
from darkroom.video.geometry import even, gravity_offsets, needs_resize, plan_resize
from darkroom.video.outputs import Output, UnsupportedVideoTransformation

__all__ = ["FfmpegPlan", "LayerFile", "SourceFacts", "TranscodeRequest", "layer_key", "plan_transcode", "scratch_file", "trim_window"]

DEFAULT_FPS = 25.0
ANIMATION_FPS = 10.0  # GIF/animated WebP frames per second when `vs_` does not say
# Frames that reverse, boomerang and GIF palettes hold decoded at once (bytes, yuv420p at 1.5 a pixel).
MAX_BUFFERED_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class SourceFacts:
    """What the upload's probe recorded about a video or audio file."""

    width: int  # display size (after rotation); 0 for audio
    height: int
    duration: float  # seconds
    frame_rate: float | None
    has_video: bool
    has_audio: bool

    @property
    def fps(self) -> float:
        return self.frame_rate or DEFAULT_FPS


@dataclass(frozen=True)
class LayerFile:
    """A stored file a layer uses: an image, a video (with its facts) or a subtitle file."""

    path: Path
    width: int = 0
    height: int = 0
    facts: SourceFacts | None = None  # for a video layer


@dataclass(frozen=True)
class TranscodeRequest:
    source: Path
    facts: SourceFacts
    chain: Chain
    output: Output
    layers: Mapping[str, LayerFile] = field(default_factory=dict)  # by `layer_key(layer)`
    # Prefix of this render's working files in the spool (`scratch_file`); None: text layers are refused.
    scratch: Path | None = None


def scratch_file(prefix: Path, name: str) -> Path:
    """One working file of a render, `<prefix>-<name>`: plain files in the spool, so the spool
    sweep removes what a crash leaves behind."""
    return prefix.with_name(f"{prefix.name}-{name}")


def layer_key(layer: Layer) -> str:
    """How the caller names the file of a stored layer: `image:…`, `video:…` or `subtitles:…`."""
    return f"{_layer_kind(layer)}:{layer.public_id}"


def _layer_kind(layer: Layer) -> str:
    return "subtitles" if layer.kind == "subtitles" else layer.resource_type


@dataclass
class FfmpegPlan:
    """One ffmpeg run: inputs, a filter graph, what to map and how to encode."""

    inputs: list[list[str]]  # per input, its options ending in `-i path`
    filters: list[str]  # filter graph statements (`[0:v]scale=…[v1]`)
    video_label: str | None  # the graph's (or an input's) video to encode, None for none
    audio_label: str | None
    encoder_arguments: list[str]  # codecs, quality, rate control
    muxer_arguments: list[str]  # `-f mp4 -movflags +faststart` …
    width: int  # the output's frame size (0 without video)
    height: int
    duration: float  # seconds of output

    def arguments(self, output: Path) -> list[str]:
        """ffmpeg's arguments (without the binary and its logging options) to write `output`."""
        args = [option for options in self.inputs for option in options]
        if self.filters:
            args += ["-filter_complex", ";".join(self.filters)]
        for label in (self.video_label, self.audio_label):
            if label is not None:
                args += ["-map", label if _is_input(label) else f"[{label}]"]
        if self.video_label is None:
            args.append("-vn")
        if self.audio_label is None:
            args.append("-an")
        return [*args, "-sn", "-dn", "-map_metadata", "-1", *self.encoder_arguments, *self.muxer_arguments, str(output)]


def plan_transcode(request: TranscodeRequest) -> FfmpegPlan:
    """Plan the ffmpeg run that makes `request.output` from the source (see the module docstring)."""
    output = request.output
    if output.kind not in ("video", "audio", "animation"):
        raise UnsupportedVideoTransformation(f"Not a transcode: {output.kind}")
    facts = request.facts
    graph = _Graph(request)
    # Which streams the output keeps is known before any filter: a filter whose output went
    # nowhere would make ffmpeg refuse the whole graph.
    has_video = graph.video is not None and output.kind != "audio" and not (output.kind == "video" and output.video_codec is None)
    has_audio = graph.audio is not None and output.kind != "animation"
    video_codec, audio_codec = choose_codecs(request.chain, output, has_video=has_video, has_audio=has_audio)
    if video_codec is None:
        graph.video = None
    if audio_codec is None:
        graph.audio = None
    if graph.video is None and graph.audio is None:
        raise UnsupportedVideoTransformation("The result would have neither video nor audio")
    scopes = _scopes(request.chain)
    main = _main_components(scopes)
    start, end = trim_window(main, facts.duration)
    graph.open_main(start, end - start, _loops(main))
    for scope in scopes:
        graph.apply(scope)
    if graph.video is None and graph.audio is None:
        raise UnsupportedVideoTransformation("The result would have neither video nor audio")
    # A long source still transcodes whole; what a URL adds (loops, splices, slow motion) is bounded.
    longest = max(MAX_OUTPUT_SECONDS, facts.duration)
    if graph.duration > longest:
        raise UnsupportedVideoTransformation(f"The result would last {graph.duration:.0f} seconds; at most {longest:.0f} in one transformation")
    if output.kind == "animation":
        graph.animate(request.chain, output.format)
    elif graph.video is not None:
        if graph.width % 2 or graph.height % 2:  # 4:2:0 video needs even sides
            graph.width, graph.height = even(graph.width), even(graph.height)
            graph.video_filter(f"scale={graph.width}:{graph.height}")
        graph.video_filter("format=yuv420p")
    encoder = encoder_arguments(request.chain, output, video_codec if graph.video else None, audio_codec if graph.audio else None)
    return FfmpegPlan(
        inputs=graph.inputs,
        filters=graph.statements,
        video_label=graph.video,
        audio_label=graph.audio,
        encoder_arguments=encoder,
        muxer_arguments=muxer_arguments(output),
        width=graph.width if graph.video else 0,
        height=graph.height if graph.video else 0,
        duration=graph.duration,
    )


# ---- trims ----------------------------------------------------------------------------

_OFFSET = re.compile(r"(\d+(?:\.\d+)?)(p?)")


def _seconds(text: str, duration: float, name: str) -> float:
    match = _OFFSET.fullmatch(text)
    if match is None:
        raise UnsupportedVideoTransformation(f"Unsupported {name} for video - {text}")
    value = float(match.group(1))
    return duration * min(value, 100.0) / 100 if match.group(2) else value


def trim_window(components: list[Component], duration: float) -> tuple[float, float]:
    """(start, end) in seconds of the source kept by `so_`/`eo_`/`du_` (percentages of the duration)."""
    start, end, length = 0.0, None, None
    for component in components:
        if component.start_offset is not None:
            start = _seconds(component.start_offset, duration, "start_offset")
        if component.end_offset is not None:
            end = _seconds(component.end_offset, duration, "end_offset")
        if component.duration is not None:
            length = _seconds(component.duration, duration, "duration")
    if end is None:
        end = start + length if length is not None else duration
    end = min(end, duration) if duration > 0 else end
    if duration > 0 and start >= duration:
        raise UnsupportedVideoTransformation(f"Start offset {start:g} is past the end of the video ({duration:g} s)")
    if end <= start:
        raise UnsupportedVideoTransformation("End offset must be after the start offset")
    return start, end


def _main_components(scopes: list[_Scope]) -> list[Component]:
    """Components that act on the base video (not inside a layer's scope)."""
    return [component for scope in scopes if scope.layer is None for component in scope.components]


MAX_LOOPS = 100  # e_loop repeats in one chain: each is another ffmpeg input
MAX_OUTPUT_SECONDS = 3600.0  # the longest result a URL may make of a shorter source (loops, splices, slow-downs)


def _loops(main: list[Component]) -> int:
    total = sum(_bounded_int(effect, 0, 1, 1, 100) for component in main for effect in component.effects if effect.name == "loop")
    if total > MAX_LOOPS:
        # Every repeat opens the source again: 64 components of e_loop:100 would be 6,401 inputs.
        raise UnsupportedVideoTransformation(f"Too many loops - {total}; at most {MAX_LOOPS} in one transformation")
    return total


# ---- scopes: a component, or a layer with its components up to fl_layer_apply ------------


@dataclass(frozen=True)
class _Scope:
    components: tuple[Component, ...]  # for a layer: those describing the layer itself
    layer: Layer | None = None
    apply: Component | None = None  # the `fl_layer_apply` component: placement and timing
    splice: bool = False

    @property
    def own_apply(self) -> Component | None:
        """The `fl_layer_apply` component when there is one apart from the `l_` component."""
        return self.apply if self.apply is not None and self.apply is not self.components[0] else None


def _scopes(chain: Chain) -> list[_Scope]:
    """The chain as scopes, as `imaging` reads layers: an `l_` component opens a layer that the
    components up to the next `fl_layer_apply` transform; with no `fl_layer_apply` after it,
    the `l_` component alone is the layer and places it too."""
    components = chain.components
    for component in components:
        if component.condition is not None:
            raise UnsupportedVideoTransformation("Conditional transformations are not supported for video")
        if component.variables:
            raise UnsupportedVideoTransformation("User variables are not supported for video")
        if component.underlay is not None:
            raise UnsupportedVideoTransformation("Underlays are not supported for video")
    scopes: list[_Scope] = []
    index = 0
    while index < len(components):
        component = components[index]
        layer = component.overlay
        if layer is None or component.has_flag("layer_apply"):
            scopes.append(_Scope((component,)))
            index += 1
            continue
        apply_at = next((i for i in range(index + 1, len(components)) if components[i].has_flag("layer_apply")), None)
        if apply_at is None:
            scopes.append(_Scope((component,), layer, component, component.has_flag("splice")))
            index += 1
            continue
        own = components[index:apply_at]
        scopes.append(_Scope(own, layer, components[apply_at], any(c.has_flag("splice") for c in own)))
        index = apply_at + 1
    return scopes


# ---- the filter graph -------------------------------------------------------------------


class _Graph:
    """The filter graph being built: labels of the current video and audio, their size and length."""

    def __init__(self, request: TranscodeRequest) -> None:
        self.request = request
        self.inputs: list[list[str]] = []
        self.statements: list[str] = []
        # Labels of the current streams: an input's first video/audio stream until a filter runs.
        self.video: str | None = "0:v:0" if request.facts.has_video else None
        self.audio: str | None = "0:a:0" if request.facts.has_audio else None
        self.width, self.height = request.facts.width, request.facts.height
        self.fps = request.facts.fps
        self.duration = request.facts.duration
        self._count = 0

    def _label(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def _input(self, path: Path, *options: str) -> int:
        self.inputs.append([*options, "-i", str(path)])
        return len(self.inputs) - 1

    def video_filter(self, text: str) -> None:
        self.video = self._then(self.video, "v", text)

    def audio_filter(self, text: str) -> None:
        self.audio = self._then(self.audio, "a", text)

    def _then(self, stream: str | None, prefix: str, text: str) -> str | None:
        """Filter `text` applied to `stream`: the new label (no stream: still none)."""
        if stream is None:
            return None
        label = self._label(prefix)
        self.statements.append(f"[{stream}]{text}[{label}]")
        return label

    # -- the base input

    def open_main(self, start: float, length: float, loops: int) -> None:
        trim = _trim_options(start, length)
        for _ in range(loops + 1):
            self._input(self.request.source, *trim)
        self.duration = length * (loops + 1)
        if loops:
            self._concat([(f"{i}:v:0" if self.video else None, f"{i}:a:0" if self.audio else None) for i in range(loops + 1)])

    def _concat(self, parts: list[tuple[str | None, str | None]]) -> None:
        streams = "".join(f"[{v}]" * (v is not None) + f"[{a}]" * (a is not None) for v, a in parts)
        has_v, has_a = parts[0][0] is not None, parts[0][1] is not None
        outputs = []
        if has_v:
            self.video = self._label("v")
            outputs.append(f"[{self.video}]")
        if has_a:
            self.audio = self._label("a")
            outputs.append(f"[{self.audio}]")
        self.statements.append(f"{streams}concat=n={len(parts)}:v={int(has_v)}:a={int(has_a)}{''.join(outputs)}")

    # -- one scope

    def apply(self, scope: _Scope) -> None:
        if scope.layer is None:
            self._component(scope.components[0])
            return
        layer = scope.layer
        if layer.kind == "subtitles":
            self._subtitles(layer, scope.components[0])
        elif scope.splice:
            self._splice(scope)
        elif layer.kind == "text":
            self._overlay_picture(self._text_picture(layer, scope.components[0]), scope)
        elif layer.kind == "image" and layer.resource_type == "image":
            self._overlay_picture(self._layer_file(layer), scope)
        elif layer.kind == "image" and layer.resource_type == "video":
            self._overlay_video(scope)
        else:
            raise UnsupportedVideoTransformation(f"Unsupported layer for video - {layer.kind}")

    def _component(self, component: Component) -> None:
        if needs_resize(component) and self.video is not None:
            filters, self.width, self.height = plan_resize(component, self.width, self.height)
            for text in filters:
                self.video_filter(text)
        for effect in component.effects:
            self._effect(effect)
        if component.fps is not None and self.video is not None:
            self.fps = _frame_rate(component.fps, self.fps)
            self.video_filter(f"fps={self.fps:g}")
        if component.angle and self.video is not None:
            self._rotate(component.angle)
        if component.opacity is not None or component.radius is not None or component.border is not None:
            raise UnsupportedVideoTransformation("Unsupported for video - opacity, radius and border apply to images")
        for name, key in _IMAGE_ONLY:
            if getattr(component, name) is not None:
                raise UnsupportedVideoTransformation(f"Unsupported for video - {key}_")

    def _rotate(self, angle: tuple[int | float | str, ...]) -> None:
        """`a_`: flips, and clockwise turns by quarters (other angles would need a background)."""
        for part in angle:
            if part in ("hflip", "vflip"):
                self.video_filter(str(part))
            elif part == "ignore":
                continue
            elif isinstance(part, (int, float)) and part % 90 == 0:
                turns = int(part // 90) % 4
                if turns == 2:
                    self.video_filter("hflip,vflip")
                elif turns:
                    self.video_filter("transpose=1" if turns == 1 else "transpose=2")
                    self.width, self.height = self.height, self.width
            else:
                raise UnsupportedVideoTransformation(f"Unsupported angle for video - a_{part}; use multiples of 90, hflip or vflip")

    def _effect(self, effect: Effect) -> None:
        name = effect.name
        if name == "loop":
            return  # applied to the input (open_main)
        if name == "fade":
            self._fade(_bounded_int(effect, 0, 2000, -600_000, 600_000))
        elif name == "accelerate":
            factor = 1 + _bounded_int(effect, 0, 100, -50, 100) / 100
            self.video_filter(f"setpts=PTS/{factor:g}")
            self.audio_filter(f"atempo={factor:g}")
            self.duration /= factor
        elif name == "volume":
            self.audio_filter(f"volume={_volume(effect)}")
        elif name == "noise":
            self.video_filter(f"noise=alls={_bounded_int(effect, 0, 0, 0, 100)}:allf=t")
        elif name in ("reverse", "boomerang"):
            self._check_buffer(self.duration, f"e_{name}")
            if name == "reverse":
                self.video_filter("reverse")
                self.audio_filter("areverse")
            else:
                self._boomerang()
        else:
            raise UnsupportedVideoTransformation(f"Unsupported effect for video - e_{name}")

    def _fade(self, milliseconds: int) -> None:
        length = min(abs(milliseconds) / 1000, self.duration)
        if milliseconds >= 0:
            self.video_filter(f"fade=t=in:st=0:d={length:g}")
            self.audio_filter(f"afade=t=in:st=0:d={length:g}")
        else:
            start = max(self.duration - length, 0)
            self.video_filter(f"fade=t=out:st={start:g}:d={length:g}")
            self.audio_filter(f"afade=t=out:st={start:g}:d={length:g}")

    def _boomerang(self) -> None:
        """Forwards, then backwards: the clip twice its length (silent: Cloudinary's is)."""
        if self.video is not None:
            forward, backward, reversed_ = self._label("v"), self._label("v"), self._label("v")
            self.statements.append(f"[{self.video}]split[{forward}][{backward}]")
            self.statements.append(f"[{backward}]reverse[{reversed_}]")
            self.video = self._label("v")
            self.statements.append(f"[{forward}][{reversed_}]concat=n=2:v=1:a=0[{self.video}]")
        if self.audio is not None and not _is_input(self.audio):
            self.statements.append(f"[{self.audio}]anullsink")  # a filtered sound must still end somewhere
        self.audio = None
        self.duration *= 2

    def _check_buffer(self, seconds: float, what: str) -> None:
        frame_bytes = max(self.width * self.height, 1) * 1.5
        if seconds * self.fps * frame_bytes > MAX_BUFFERED_BYTES:
            limit = MAX_BUFFERED_BYTES / (self.fps * frame_bytes)
            raise UnsupportedVideoTransformation(f"{what} holds the whole clip in memory: trim it to at most {limit:.0f} seconds at this size")

    # -- layers

    def _layer_file(self, layer: Layer) -> LayerFile:
        found = self.request.layers.get(layer_key(layer))
        if found is None:
            raise UnsupportedVideoTransformation(f"Unknown or invalid referenced {_layer_kind(layer)} {layer.public_id} of type {layer.delivery_type}")
        return found

    def _text_picture(self, layer: Layer, component: Component) -> LayerFile:
        scratch = self.request.scratch
        if scratch is None or layer.style is None:
            raise UnsupportedVideoTransformation("Unsupported text layer for video")
        from darkroom.imaging.layers import text_image

        image = text_image(layer, component.color)
        path = scratch_file(scratch, f"text-{self._label('t')}.png")
        image.pngsave(str(path))
        return LayerFile(path, image.width, image.height)

    def _overlay_picture(self, picture: LayerFile, scope: _Scope) -> None:
        """An image or text laid over the video, sized by the layer's components, shown
        between `so_` and `eo_` (of the layer or its fl_layer_apply component)."""
        if self.video is None:
            raise UnsupportedVideoTransformation("Overlays need a video stream")
        index = self._input(picture.path)
        label, width, height = self._sized_layer(f"{index}:v:0", picture.width, picture.height, scope.components)
        timing = [*scope.components, *([scope.own_apply] if scope.own_apply is not None else [])]
        start, end = trim_window(timing, self.duration) if _has_trim(timing) else (0.0, self.duration)
        self._overlay(label, width, height, scope.apply, start, end)

    def _overlay_video(self, scope: _Scope) -> None:
        """A video over the video: trimmed by its own components' so_/eo_, shown from the
        apply component's so_ (or the start), while it lasts."""
        if self.video is None:
            raise UnsupportedVideoTransformation("Overlays need a video stream")
        assert scope.layer is not None
        found = self._layer_file(scope.layer)
        facts = found.facts
        if facts is None or not facts.has_video:
            raise UnsupportedVideoTransformation(f"Layer {scope.layer.public_id} has no video")
        own_start, own_end = trim_window(list(scope.components), facts.duration)
        index = self._input(found.path, *_trim_options(own_start, own_end - own_start))
        label, width, height = self._sized_layer(f"{index}:v:0", facts.width, facts.height, scope.components)
        apply = [scope.own_apply] if scope.own_apply is not None else []
        show_from, show_to = trim_window(apply, self.duration) if _has_trim(apply) else (0.0, self.duration)
        shifted = self._label("l")
        self.statements.append(f"[{label}]setpts=PTS-STARTPTS+{show_from:g}/TB[{shifted}]")
        self._overlay(shifted, width, height, scope.apply, show_from, min(show_to, show_from + own_end - own_start), eof="pass")

    def _sized_layer(self, label: str, width: int, height: int, components: tuple[Component, ...]) -> tuple[str, int, int]:
        for component in components:
            if component.effects:
                raise UnsupportedVideoTransformation(f"Unsupported effect on a video layer - e_{component.effects[0].name}")
            if needs_resize(component):
                filters, width, height = plan_resize(component, width, height)
                for text in filters:
                    sized = self._label("l")
                    self.statements.append(f"[{label}]{text}[{sized}]")
                    label = sized
            opacity = component.opacity
            if opacity is not None:
                if not isinstance(opacity, int):
                    raise UnsupportedVideoTransformation("Unsupported opacity for video - computed values")
                faded = self._label("l")
                self.statements.append(f"[{label}]format=rgba,colorchannelmixer=aa={opacity / 100:g}[{faded}]")
                label = faded
        return label, width, height

    def _overlay(self, label: str, width: int, height: int, apply: Component | None, start: float, end: float, eof: str = "repeat") -> None:
        gravity = apply.gravity if apply is not None else None
        x, y = gravity_offsets(gravity, (self.width, self.height), (width, height))
        if apply is not None:
            x += _inward(apply.x, gravity, "west", "east")
            y += _inward(apply.y, gravity, "north", "south")
        enable = f":enable='between(t,{start:g},{end:g})'" if start > 0 or end < self.duration else ""
        out = self._label("v")
        self.statements.append(f"[{self.video}][{label}]overlay=x={x}:y={y}:eof_action={eof}{enable}[{out}]")
        self.video = out

    def _splice(self, scope: _Scope) -> None:
        """`fl_splice`: the layer's video after the base (before it with `so_0` on fl_layer_apply),
        fitted into the base's frame; a clip without sound adds silence."""
        assert scope.layer is not None
        found = self._layer_file(scope.layer)
        facts = found.facts
        if facts is None:
            raise UnsupportedVideoTransformation(f"fl_splice needs a video layer, not {scope.layer.public_id}")
        own_start, own_end = trim_window(list(scope.components), facts.duration)
        index = self._input(found.path, *_trim_options(own_start, own_end - own_start))
        at = scope.own_apply.start_offset if scope.own_apply is not None else None
        if at not in (None, "0", "0p"):
            raise UnsupportedVideoTransformation("fl_splice at an offset other than the start or the end is not supported")
        clip_video, clip_audio = None, None
        if self.video is not None:
            if not facts.has_video:
                raise UnsupportedVideoTransformation(f"Layer {scope.layer.public_id} has no video to splice")
            label, width, height = self._sized_layer(f"{index}:v:0", facts.width, facts.height, scope.components)
            clip_video = self._label("l")
            self.statements.append(
                f"[{label}]scale={self.width}:{self.height}:force_original_aspect_ratio=decrease,"
                f"pad={self.width}:{self.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={self.fps:g},format=yuv420p[{clip_video}]"
            )
            self.video_filter(f"setsar=1,fps={self.fps:g},format=yuv420p")
        clip_length = own_end - own_start
        if self.audio is not None:  # the sound follows the base: a silent base stays silent
            clip_audio = self._normalized_audio(f"{index}:a:0" if facts.has_audio else None, clip_length)
            self.audio = self._normalized_audio(self.audio, self.duration)
        parts = [(self.video, self.audio), (clip_video, clip_audio)]
        self._concat(parts[::-1] if at is not None else parts)  # so_0 on fl_layer_apply: before the base
        self.duration += clip_length

    def _normalized_audio(self, label: str | None, seconds: float) -> str:
        out = self._label("a")
        if label is None:
            self.statements.append(f"anullsrc=r=48000:cl=stereo,atrim=0:{seconds:g}[{out}]")
        else:
            self.statements.append(f"[{label}]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[{out}]")
        return out

    def _subtitles(self, layer: Layer, component: Component) -> None:
        if self.video is None:
            raise UnsupportedVideoTransformation("Subtitles need a video stream")
        found = self._layer_file(layer)
        if layer.style is not None and not _FONT_NAME.fullmatch(layer.style.font_family):
            # The name lands inside ffmpeg's filter text: nothing but a plain font name may reach it.
            raise UnsupportedVideoTransformation(f"Invalid subtitles font - {layer.style.font_family[:60]}")
        style = [f"FontSize={layer.style.font_size}", f"FontName={layer.style.font_family}"] if layer.style else []
        if layer.style is not None and layer.style.font_weight == "bold":
            style.append("Bold=1")
        if component.color is not None:
            style.append(f"PrimaryColour={_ass_color(component.color)}")
        if component.background is not None and component.background.kind == "color" and component.background.color:
            style += [f"BackColour={_ass_color(component.background.color)}", "BorderStyle=4"]
        force = f":force_style='{','.join(style)}'" if style else ""
        self.video_filter(f"subtitles=filename={_filter_path(found.path)}{force}")

    # -- animations

    def animate(self, chain: Chain, fmt: str) -> None:
        """GIF or animated WebP: frames sampled by `vs_` (a count or `Ns`), else 10 a second."""
        sampling = next((c.video_sampling for c in reversed(chain.components) if c.video_sampling), None)
        rate = ANIMATION_FPS
        if sampling is not None:
            amount = float(sampling.removesuffix("s"))
            if amount <= 0:
                raise UnsupportedVideoTransformation(f"Invalid video_sampling - {sampling}")
            rate = 1 / amount if sampling.endswith("s") else amount / max(self.duration, 0.001)
        self.fps = min(max(rate, 0.01), self.fps)
        self.video_filter(f"fps={self.fps:g}")
        if fmt == "gif":
            self._check_buffer(self.duration, "An animated GIF")  # its palette is made from every frame first
            split_a, split_b, palette, out = self._label("v"), self._label("v"), self._label("v"), self._label("v")
            self.statements.append(f"[{self.video}]split[{split_a}][{split_b}]")
            self.statements.append(f"[{split_a}]palettegen=stats_mode=diff[{palette}]")
            self.statements.append(f"[{split_b}][{palette}]paletteuse=dither=bayer[{out}]")
            self.video = out
        else:
            self.video_filter("format=yuva420p")


# Component fields that mean something for pictures only: a 400 on video, never ignored.
_IMAGE_ONLY = (("dpr", "dpr"), ("zoom", "z"), ("density", "dn"), ("page", "pg"), ("custom_function", "fn"), ("default_image", "d"), ("color_space", "cs"))


def _is_input(label: str) -> bool:
    """An input's stream (`0:v:0`) rather than a filter's output label."""
    return re.fullmatch(r"\d+:[va]:0", label) is not None


def _has_trim(components: list[Component]) -> bool:
    return any(c.start_offset is not None or c.end_offset is not None or c.duration is not None for c in components)


def _trim_options(start: float, length: float) -> list[str]:
    options = ["-ss", f"{start:.3f}"] if start > 0 else []
    return [*options, "-t", f"{length:.3f}"]


def _inward(offset: object, gravity: str | None, low: str, high: str) -> int:
    """x/y push a layer inward from the edge its gravity names (Cloudinary's rule)."""
    if offset is None:
        return 0
    if not isinstance(offset, Pixels):
        raise UnsupportedVideoTransformation("Unsupported layer offset for video - only whole pixels")
    return -offset.value if high in (gravity or "") else offset.value


def _bounded_int(effect: Effect, index: int, default: int, low: int, high: int) -> int:
    text = effect.arg(index)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise UnsupportedVideoTransformation(f"Invalid effect parameter - {effect.name}:{text}") from None
    if not low <= value <= high:
        raise UnsupportedVideoTransformation(f"Invalid effect parameter - {effect.name}:{text}; {low} to {high}")
    return value


def _volume(effect: Effect) -> str:
    text = effect.arg(0) or "0"
    if text == "mute":
        return "0"
    decibels = re.fullmatch(r"(-?\d{1,3})dB", text, re.IGNORECASE)
    if decibels:
        return f"{int(decibels.group(1))}dB"
    percent = _bounded_int(effect, 0, 0, -100, 400)
    return f"{(100 + percent) / 100:g}"


def _frame_rate(text: str, source: float) -> float:
    """`fps_25`, or a range `24-30`, `-25`, `12-`: the source's rate clamped into it."""
    if "-" not in text.lstrip("-") and not text.startswith("-"):
        if float(text) <= 0:
            raise UnsupportedVideoTransformation(f"Invalid fps parameter - {text}")
        return float(text)
    low_text, _, high_text = text.partition("-")
    low = float(low_text) if low_text else 0.0
    high = float(high_text) if high_text else math.inf
    if low > high or high <= 0:
        raise UnsupportedVideoTransformation(f"Invalid fps parameter - {text}")
    return min(max(source, low), high)


_FONT_NAME = re.compile(r"[A-Za-z0-9 \-]{1,64}")


def _ass_color(color: str) -> str:
    """A Cloudinary colour as ASS writes it: &HAABBGGRR, alpha 00 = opaque."""
    red, green, blue, alpha = rgba(color)
    return f"&H{255 - alpha:02X}{blue:02X}{green:02X}{red:02X}"


# Inside '…' ffmpeg's filter parser takes no escapes, so no quoting makes these safe in a file name.
_FILTER_UNSAFE = re.compile(r"['\\:,;\[\]]")


def _filter_path(path: Path) -> str:
    """A file name quoted for a filter argument; the spool path comes from the operator's data
    directory, and one with a character the filter parser splits on is refused, not escaped."""
    text = str(path)
    if _FILTER_UNSAFE.search(text):
        raise DarkroomError(
            "Subtitles cannot be burned in on this server: its data directory path has a character ffmpeg filters cannot quote",
            detail=f"rename the data directory so its path has none of ' \\ : , ; [ ] - {text}",
        )
    return f"'{text}'"
