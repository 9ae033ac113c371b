"""Executing a `Chain` with libvips: an ordered list of small steps per component.

    render(path, chain, …) → load header, check limits → for each component, in the URL's
    order: condition/variables → layer scoping → resize/crop → effects → radius → angle →
    border → background → opacity  (that much is `render_image`: pixels)
    → then choose the format and encode (`render` = `render_image` + encoding).

The first resize of an unmodified source goes through `thumbnail`, which shrinks on load
(JPEG DCT scaling, WebP/AVIF downsampled decode), so a 4000×3000 photo never decodes at
full size when the URL asks for 300 px.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import pyvips

from darkroom.errors import Invalid
from darkroom.imaging import decoded, encoders
from darkroom.imaging import effects as fx
from darkroom.imaging import layers
from darkroom.imaging.context import (
    LayerLoader,
    ANIMATED_FORMATS,
    Rendered,
    RenderedImage,
    RenderLimits,
    RenderState,
    decode_whole,
    dpr_of,
    each_frame,
    environment,
    first_frame,
    length,
    load_options_for,
    normalise,
    open_source,
    pixels,
    positive,
    with_options,
)
from darkroom.imaging.errors import InvalidImage, TooManyPixels, TooSlow, UnsupportedTransformation
from darkroom.imaging.expressions import evaluate, evaluate_number
from darkroom.imaging.faces import detect_faces, union
from darkroom.imaging.formats import EncodeOptions, choose_format, encode, encoder_quality
from darkroom.imaging.geometry import Box, Placement, Plan, derive_box, is_focus_gravity, plan_resize
from darkroom.imaging.probe import content_type_for
from darkroom.transform import Chain, Component, Effect, Expression, Layer, Pixels, Radius, Relative
from darkroom.transform.colors import rgba
from darkroom.transform.effects import parse_effect
from darkroom.transform.errors import ParseError
from darkroom.transform.layers import parse_text_style
from darkroom.transform.params import AUTO_GRAVITY_CROPS
from darkroom.transform.values import format_number

# Targets that can hold transparency: padding there is transparent, elsewhere a colour.
_FORMATS_WITH_ALPHA = frozenset(("png", "webp", "avif", "gif")) | encoders.KEEPS_ALPHA
_PREVIEW = 500  # px: faces and saliency are found at this size (4000 px JPEGs shrink 8× on load)


# ---------------------------------------------------------------- gravity and focus


def _preview(state: RenderState) -> tuple[pyvips.Image, float]:
    """A small copy for detectors, and the factor back to current coordinates."""
    if state.image is None and state.decoded is not None:
        small = state.decoded().thumbnail_image(_PREVIEW, height=_PREVIEW, size="down")
    elif state.image is None:
        small = normalise(pyvips.Image.thumbnail(with_options(state), _PREVIEW, height=_PREVIEW, size="down", no_rotate=not state.autorotate))
    else:
        frame = first_frame(state)
        factor = min(1.0, _PREVIEW / max(frame.width, frame.height))
        small = frame.resize(factor) if factor < 1 else frame
    return small, state.width / small.width


def _focus(state: RenderState, gravity: str) -> Box | None:
    """The subject box for face/auto gravities, in current coordinates (None = centre)."""
    if not is_focus_gravity(gravity) or gravity == "xy_center":
        return None
    kind, _, detail = gravity.partition(":")
    small, back = _preview(state)
    if kind in ("face", "faces", "adv_face", "adv_faces", "adv_eyes") or detail in ("face", "faces", "adv_face", "adv_faces"):
        faces = detect_faces(small)
        if faces:
            box = union(faces) if "faces" in gravity else faces[0]
            return box.scaled(back, back)
        if kind != "auto":
            return None
    if kind in ("auto", "body", "ocr_text") or detail:
        _, found = small.smartcrop(max(1, small.width // 2), max(1, small.height // 2), interesting="attention", attention_x=True, attention_y=True)
        return Box(round(found["attention_x"] * back), round(found["attention_y"] * back), 1, 1)
    return None


# ---------------------------------------------------------------- resize / crop


def _background_rgba(component: Component, state: RenderState, image: pyvips.Image) -> list[float]:
    background = component.background
    if background is not None and background.kind == "color" and background.color:
        return list(rgba(background.color))
    if background is not None and background.kind == "auto":
        rgb, _ = fx.split_alpha(image)
        if "predominant" in (background.args or ("border",))[0]:
            colour = [round(rgb.extract_band(i).avg()) for i in range(3)]
        else:
            edge = max(1, min(rgb.width, rgb.height) // 50)
            strips = [rgb.crop(0, 0, rgb.width, edge), rgb.crop(0, rgb.height - edge, rgb.width, edge)]
            colour = [round(sum(s.extract_band(i).avg() for s in strips) / 2) for i in range(3)]
        return colour + [255]
    if state.transparent_pad:
        return [0, 0, 0, 0]
    return [255, 255, 255, 255]


def _pad(image: pyvips.Image, pad: tuple[int, int, int, int], component: Component, state: RenderState) -> pyvips.Image:
    width, height, left, top = pad
    if component.background is not None and component.background.kind == "blurred":
        args = component.background.args
        sigma = max(1.0, (int(args[0]) if args else 100) / 20)
        canvas = image.thumbnail_image(width, height=height, crop="centre", size="force").gaussblur(sigma).cast("uchar")
        if len(args) > 1:
            canvas = (canvas + int(args[1]) * 2.55).cast("uchar")
        return canvas.insert(image, left, top)
    if component.background is not None and component.background.kind == "gen_fill":
        raise UnsupportedTransformation("Background gen_fill needs an AI add-on, which this server does not have")
    colour = _background_rgba(component, state, image)
    if colour[3] < 255 and not image.hasalpha():
        image = layers.with_alpha(image)
    return image.embed(left, top, width, height, extend="background", background=colour if image.hasalpha() else colour[:3])


def _first_resize(state: RenderState, width: int, height: int) -> pyvips.Image:
    """Resize the untouched source: from the decoded pixels held in memory when there are
    some, else straight from the file so the loader can shrink while decoding."""
    if state.decoded is not None:
        source = state.decoded()
        if _plain_8bit(source):
            # What thumbnail_image(size="force") does for such pixels, to the same pixels, minus
            # its set-up (about 0.5 ms a render, which the benchmark's PNG misses notice).
            return source.resize(1.0 / (source.width / width), vscale=1.0 / (source.height / height))
        return source.thumbnail_image(width, height=height, size="force")
    return normalise(pyvips.Image.thumbnail(with_options(state), width, height=height, size="force", no_rotate=not state.autorotate))


def _plain_8bit(image: pyvips.Image) -> bool:
    """8-bit sRGB or grey without alpha: nothing for thumbnail to convert or premultiply."""
    return image.format == "uchar" and not image.hasalpha() and image.interpretation in ("srgb", "b-w")


def _execute(plan: Plan, component: Component, state: RenderState) -> None:
    out_w, out_h = plan.output_size(state.width, state.height)
    if out_w * out_h * state.pages > state.limits.max_output_pixels:
        raise TooManyPixels("Requested image is too large", detail=f"{out_w}x{out_h}")
    if plan == Plan():
        return
    if state.image is None and plan.pre_crop is None and plan.resize is not None and state.pages == 1:
        w, h = plan.resize
        # thumbnail reads the file sequentially: a crop keeps that order, so the common
        # resize-and-crop URL streams from decoder to encoder; any later step that needs
        # random access first copies the (small) result to memory (see `pixels`).
        thumb = _first_resize(state, w, h)
        if plan.crop:
            thumb = thumb.crop(plan.crop.left, plan.crop.top, plan.crop.width, plan.crop.height)
        state.image, state.sequential = thumb, state.decoded is None
        state.width, state.height = thumb.width, thumb.height
        plan = replace(plan, resize=None, crop=None)
        if plan == Plan():
            return

    def run(frame: pyvips.Image) -> pyvips.Image:
        if plan.pre_crop:
            box = plan.pre_crop
            frame = frame.crop(box.left, box.top, box.width, box.height)
        if plan.resize and plan.resize != (frame.width, frame.height):
            frame = frame.thumbnail_image(plan.resize[0], height=plan.resize[1], size="force")
        if plan.crop:
            box = plan.crop
            frame = frame.crop(box.left, box.top, box.width, box.height)
        if plan.pad:
            frame = _pad(frame, plan.pad, component, state)
        return frame

    each_frame(state, run)


def _resize(component: Component, state: RenderState) -> None:
    dpr = dpr_of(component, state)
    box_w = positive(length(component.width, state.width, state, dpr), "width")
    box_h = positive(length(component.height, state.height, state, dpr), "height")
    ratio = None
    if component.aspect_ratio is not None:
        ratio = (
            evaluate_number(component.aspect_ratio.text, environment(state))
            if isinstance(component.aspect_ratio, Expression)
            else component.aspect_ratio.value
        )
    if ratio is not None and (box_w or box_h or component.crop in ("fill", "lfill", "crop", "thumb", "auto", "pad", "lpad", "mpad", "fill_pad")):
        box_w, box_h = derive_box(state.width, state.height, box_w, box_h, ratio)
    if box_w is None and box_h is None:
        return  # a dpr on its own scales the sizes of the chain (chain_dpr), not the image
    if component.crop in ("imagga_crop", "imagga_scale"):
        raise UnsupportedTransformation(f"Crop mode {component.crop} needs an add-on, which this server does not have")
    gravity = component.gravity or "center"
    if gravity.startswith("custom") and ":" not in gravity:
        gravity = "center"  # no stored custom coordinates: Cloudinary falls back likewise
    x = length(component.x, state.width, state, dpr)
    y = length(component.y, state.height, state, dpr)
    if component.crop == "auto" and gravity == "center":
        gravity = "auto"
    if _saliency_after_resize(component.crop, gravity):
        # Find the subject on the already-scaled image (small, and decoded anyway) instead of
        # decoding a separate preview: the crop window is placed by libvips' smartcrop.
        plan = plan_resize(component.crop, state.width, state.height, box_w, box_h, Placement("center", x, y), component.zoom)
        if plan.crop is not None and plan.pre_crop is None and plan.pad is None:
            window = plan.crop
            _execute(replace(plan, crop=None), component, state)
            each_frame(state, lambda frame: frame.smartcrop(window.width, window.height, interesting="attention"))
            return
    needs_focus = component.crop in AUTO_GRAVITY_CROPS  # the modes that cut a window by gravity
    focus = _focus(state, gravity) if needs_focus and is_focus_gravity(gravity) else None
    plan = plan_resize(component.crop, state.width, state.height, box_w, box_h, Placement(gravity, x, y, focus), component.zoom)
    _execute(plan, component, state)


def _saliency_after_resize(crop: str | None, gravity: str) -> bool:
    """Plain `g_auto` (not `auto:face…`) on a mode that scales then cuts."""
    return crop in ("fill", "auto", "lfill", "fill_pad", "auto_pad") and gravity in ("auto", "auto:subject", "auto:classic")


# ---------------------------------------------------------------- the other steps


def _effect_region(component: Component, state: RenderState) -> Box | None:
    if component.width is None and component.height is None and component.x is None and component.y is None:
        return None
    x = length(component.x, state.width, state) or 0
    y = length(component.y, state.height, state) or 0
    w = length(component.width, state.width, state) or state.width - x
    h = length(component.height, state.height, state) or state.height - y
    return Box(x, y, w, h)


def _resolve_effect(effect: Effect, state: RenderState) -> Effect:
    if not effect.name.startswith("$"):
        return effect
    name = state.variables.get(effect.name)
    if not isinstance(name, str):
        raise Invalid(f"Invalid effect - {effect.name}")
    try:
        return parse_effect("e", ":".join((name,) + effect.args))
    except ParseError as error:
        raise Invalid(error.message) from None


def _effects(component: Component, state: RenderState) -> None:
    for effect in component.effects:
        effect = _resolve_effect(effect, state)
        region = _effect_region(component, state) if effect.name.endswith("_region") else None
        context = fx.EffectContext(component=component, faces=detect_faces, region=region)
        each_frame(state, lambda frame, e=effect, c=context: fx.apply_effect(frame, e, c))


def _radius_mask(width: int, height: int, radius: Radius) -> pyvips.Image:
    if radius.is_max:
        shape = f'<ellipse cx="{width / 2}" cy="{height / 2}" rx="{width / 2}" ry="{height / 2}" fill="#fff"/>'
    else:
        limit = min(width, height) / 2
        tl, tr, br, bl = (min(r, limit) for r in radius.four_corners)
        shape = (
            f'<path fill="#fff" d="M{tl},0 H{width - tr} A{tr},{tr} 0 0 1 {width},{tr} V{height - br} '
            f'A{br},{br} 0 0 1 {width - br},{height} H{bl} A{bl},{bl} 0 0 1 0,{height - bl} V{tl} A{tl},{tl} 0 0 1 {tl},0 Z"/>'
        )
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">{shape}</svg>'
    return pyvips.Image.svgload_buffer(svg.encode()).extract_band(3)


def _radius(component: Component, state: RenderState) -> None:
    radius = component.radius
    if radius is None or (not radius.is_max and not any(radius.corners)):
        return

    def run(frame: pyvips.Image) -> pyvips.Image:
        frame = layers.with_alpha(frame)
        mask = _radius_mask(frame.width, frame.height, radius)
        rgb, alpha = fx.split_alpha(frame)
        return fx.join_alpha(rgb, (alpha * mask / 255))

    each_frame(state, run)


def _rotate_by(frame: pyvips.Image, degrees: float, state: RenderState, component: Component) -> pyvips.Image:
    turn = degrees % 360
    if turn == 0:
        return frame
    if turn in (90, 180, 270):
        return frame.rotate(turn)
    colour = _background_rgba(component, state, frame)
    frame = layers.with_alpha(frame) if colour[3] < 255 or frame.hasalpha() else frame
    return frame.rotate(turn, background=colour if frame.hasalpha() else colour[:3]).cast("uchar")


def _angle(component: Component, state: RenderState, *, auto_only: bool) -> None:
    for value in component.angle:
        if value in ("auto_right", "auto_left"):
            if not auto_only:
                continue
            box_w, box_h = component.width, component.height
            if not isinstance(box_w, Pixels) or not isinstance(box_h, Pixels):
                continue
            if (box_w.value > box_h.value) == (state.width > state.height) or box_w.value == box_h.value:
                continue
            degrees = 90 if value == "auto_right" else 270
            each_frame(state, lambda f, d=degrees: _rotate_by(f, d, state, component))
        elif auto_only or value == "ignore":
            continue
        elif value == "hflip":
            each_frame(state, lambda f: f.fliphor())
        elif value == "vflip":
            each_frame(state, lambda f: f.flipver())
        else:
            each_frame(state, lambda f, d=float(value): _rotate_by(f, d, state, component))


def _border(component: Component, state: RenderState) -> None:
    border = component.border
    if border is None or border.width == 0:
        return
    colour = list(rgba(border.color))

    grown = (state.width + 2 * border.width) * (state.height + 2 * border.width) * state.pages
    if grown > state.limits.max_output_pixels:
        raise TooManyPixels("Requested image is too large", detail=f"border {border.width}px")

    def run(frame: pyvips.Image) -> pyvips.Image:
        if frame.hasalpha():
            return fx.draw_outline(frame, border.width, colour)
        w = border.width
        return frame.embed(w, w, frame.width + 2 * w, frame.height + 2 * w, extend="background", background=colour[:3])

    each_frame(state, run)


def _flatten(component: Component, state: RenderState) -> None:
    background = component.background
    if background is None or background.kind != "color" or not background.color:
        return
    colour = rgba(background.color)
    state.background = colour[:3]
    if colour[3] == 255 and pixels(state).hasalpha():
        each_frame(state, lambda f: f.flatten(background=list(colour[:3])).cast("uchar"))


def _opacity(component: Component, state: RenderState) -> None:
    if component.opacity is None:
        return
    amount = component.opacity if isinstance(component.opacity, int) else evaluate_number(component.opacity.text, environment(state))
    amount = max(0.0, min(100.0, float(amount))) / 100

    def run(frame: pyvips.Image) -> pyvips.Image:
        rgb, alpha = fx.split_alpha(layers.with_alpha(frame))
        return fx.join_alpha(rgb, alpha * amount)

    each_frame(state, run)


def _variables(component: Component, state: RenderState) -> None:
    for variable in component.variables:
        state.variables[variable.name] = evaluate(variable.value, environment(state))


def _auto_angle(component: Component, state: RenderState) -> None:
    _angle(component, state, auto_only=True)


def _geometry(component: Component, state: RenderState) -> None:
    if any(effect.name.endswith("_region") for effect in component.effects):
        return  # w/h/x/y describe the effect's region, not a resize
    _resize(component, state)


def _rotate(component: Component, state: RenderState) -> None:
    _angle(component, state, auto_only=False)


def _delay(component: Component, state: RenderState) -> None:
    if component.delay is not None:
        state.delay = [component.delay] * state.pages


# One component's steps, in a fixed order (the URL's order inside a component means nothing).
STEPS: tuple[Callable[[Component, RenderState], None], ...] = (
    _variables,
    _auto_angle,
    _geometry,
    _effects,
    _radius,
    _rotate,
    _border,
    _flatten,
    _opacity,
    _delay,
)


def _check_limits(state: RenderState) -> None:
    """libvips is lazy: refusing an oversized result between steps stops the work before it
    runs; a step that starts after the deadline is refused too."""
    if state.width * state.height * state.pages > state.limits.max_output_pixels:
        raise TooManyPixels("Requested image is too large", detail=f"{state.width}x{state.height}x{state.pages}")
    if state.deadline is not None and time.monotonic() > state.deadline:
        raise TooSlow("Transformation took too long to process")


def apply_component(component: Component, state: RenderState) -> None:
    for step in STEPS:
        step(component, state)
        _check_limits(state)


# ---------------------------------------------------------------- layers and control flow


def _layer_image(component: Component, state: RenderState) -> pyvips.Image:
    layer = component.overlay or component.underlay
    assert layer is not None
    if layer.kind == "text":
        layer = _resolve_text(layer, state)
        size = layer.style.font_size if layer.style else 12
        if size * size * len(layer.text or "") > state.limits.max_output_pixels:
            raise TooManyPixels("Text layer is too large")
        return layers.text_image(layer, component.color)
    if layer.kind == "image" and layer.public_id and layer.public_id.startswith("$"):
        layer = _resolve_image_name(layer, state)
    key = layer.loader_key
    path = state.load_layer(key) if state.load_layer and key is not None else None
    image = layers.load_image_layer(layer, path)
    if image.width * image.height > state.limits.max_source_pixels:
        raise TooManyPixels("Layer image is too large to process")
    return image


def _resolve_image_name(layer: Layer, state: RenderState) -> Layer:
    """`l_$img`: the layer's public ID is the string the variable holds (`$img_!brand:logo!`)."""
    value = state.variables.get(layer.public_id)  # type: ignore[arg-type]
    if not isinstance(value, str) or not value:
        raise Invalid(f"Invalid layer - {layer.public_id} does not hold a public ID")
    return replace(layer, public_id=value)


_INTERPOLATION = re.compile(r"\$\(([A-Za-z][A-Za-z0-9]*)\)")


def _resolve_text(layer: Layer, state: RenderState) -> Layer:
    """Fill in `l_text:$style:…` and `$(name)` inside the text from the chain's variables."""
    style = layer.style
    if layer.style_variable is not None:
        value = state.variables.get(layer.style_variable)
        if not isinstance(value, str):
            raise Invalid(f"Invalid text style - {layer.style_variable}")
        try:
            style = parse_text_style(value)
        except ParseError as error:
            raise Invalid(error.message) from None

    def variable(match: re.Match[str]) -> str:
        value = state.variables.get("$" + match.group(1))
        if value is None:
            raise Invalid(f"Invalid expression - unknown variable ${match.group(1)}")
        return format_number(value) if isinstance(value, float) and not value.is_integer() else str(int(value)) if isinstance(value, float) else str(value)

    text = _INTERPOLATION.sub(variable, layer.text or "")
    return replace(layer, style=style, style_variable=None, text=text)


def _layer_state(image: pyvips.Image, base: RenderState) -> RenderState:
    image = normalise(image)
    return RenderState(
        path="", limits=base.limits, source=image, image=image, width=image.width, height=image.height, pages=1,
        initial_width=image.width, initial_height=image.height, autorotate=False, transparent_pad=True,
        load_layer=None, client_width=base.client_width, client_dpr=base.client_dpr, chain_dpr=base.chain_dpr,
        variables=dict(base.variables), tags=base.tags, context=base.context, metadata=base.metadata,
    )


def _relative_to_base(component: Component, base: RenderState, layer: RenderState) -> Component:
    """With fl_relative, decimal w/h of a layer are fractions of the base, not of the layer."""
    if not component.has_flag("relative"):
        return component
    width = Pixels(round(component.width.value * base.width)) if isinstance(component.width, Relative) else component.width
    height = Pixels(round(component.height.value * base.height)) if isinstance(component.height, Relative) else component.height
    return replace(component, width=width, height=height)


def _place(layer: RenderState, component: Component, base: RenderState, *, underlay: bool, mode: str = "over") -> None:
    gravity = component.gravity or "center"
    dpr = dpr_of(component, base)
    x = length(component.x, base.width, base, dpr)
    y = length(component.y, base.height, base, dpr)
    focus = None
    if gravity.startswith(("face", "faces", "auto")):
        focus = layers.face_placement(gravity, detect_faces(first_frame(base)))
    where = Placement(gravity if focus is not None or not is_focus_gravity(gravity) else "center", x, y, focus)
    overlay = pixels(layer)
    overflow = not component.has_flag("no_overflow")
    if overflow:
        grown = (base.width + layer.width) * (base.height + layer.height) * base.pages
        if grown > base.limits.max_output_pixels:
            raise TooManyPixels("Requested image is too large", detail="overlay overflow")
    each_frame(base, lambda frame: layers.composite(frame, overlay, where, underlay=underlay, mode=mode, overflow=overflow))


_PLACEMENT_FIELDS = {"gravity": None, "x": None, "y": None, "flags": ()}


def _blend_mode(*components: Component) -> tuple[str, list[Component]]:
    """The blend mode given as a layer effect (`e_multiply`), and the components without it."""
    mode = "over"
    cleaned = []
    for component in components:
        kept = []
        for effect in component.effects:
            if effect.name in layers.BLEND_MODES:
                mode = layers.BLEND_MODES[effect.name]
            else:
                kept.append(effect)
        cleaned.append(replace(component, effects=tuple(kept)))
    return mode, cleaned


def _run_layer(components: list[Component], start: int, state: RenderState) -> int:
    """Build the layer opened at `start`, transform it, place it; return the next index."""
    opening = components[start]
    underlay = opening.underlay is not None and opening.overlay is None
    apply_at = next((i for i in range(start, len(components)) if components[i].has_flag("layer_apply")), None)
    layer = _layer_state(_layer_image(opening, state), state)
    own = replace(opening, overlay=None, underlay=None, color=None if (opening.overlay or opening.underlay).kind == "text" else opening.color)  # type: ignore[union-attr]
    if apply_at is None or apply_at == start:
        mode, (own,) = _blend_mode(own)
        apply_component(replace(_relative_to_base(own, state, layer), **_PLACEMENT_FIELDS), layer)
        _place(layer, opening, state, underlay=underlay, mode=mode)
        return start + 1
    mode, (own, closing) = _blend_mode(own, components[apply_at])
    apply_component(_relative_to_base(own, state, layer), layer)
    for component in components[start + 1 : apply_at]:
        apply_component(component, layer)
    apply_component(replace(closing, **_PLACEMENT_FIELDS), layer)
    _place(layer, closing, state, underlay=underlay, mode=mode)
    return apply_at + 1


def _run(components: list[Component], state: RenderState) -> None:
    """Walk the chain: conditional blocks, inline conditions, layers, plain components."""
    branches: list[bool] = []  # per open if-block: is the current branch active?
    taken: list[bool] = []
    index = 0
    while index < len(components):
        component = components[index]
        condition = component.condition
        active = all(branches)
        block_only = condition is not None and replace(component, condition=None).is_empty
        if condition == "end":
            if branches:
                branches.pop(), taken.pop()
            index += 1
            continue
        if condition == "else":
            if branches:
                branches[-1] = not taken[-1]
            index += 1
            continue
        if block_only:
            holds = active and bool(evaluate(condition, environment(state)))  # type: ignore[arg-type]
            branches.append(holds)
            taken.append(holds)
            index += 1
            continue
        if not active or (condition is not None and not evaluate(condition, environment(state))):
            index += 1
            continue
        component = replace(component, condition=None)
        if component.overlay is not None or component.underlay is not None:
            components = components[:index] + [component] + components[index + 1 :]
            index = _run_layer(components, index, state)
            continue
        apply_component(component, state)
        index += 1


# ---------------------------------------------------------------- entry point


def _standalone_dpr(chain: Chain) -> float | str | None:
    for component in chain.components:
        if component.dpr is not None and component.width is None and component.height is None and component.crop is None:
            return component.dpr
    return None


def _encode_options(chain: Chain, fmt: str, background: tuple[int, int, int] | None, save_data: bool) -> EncodeOptions:
    quality = next((c.quality for c in reversed(chain.components) if c.quality is not None), None)
    flags = {flag.name for component in chain.components for flag in component.flags if not component.has_flag("layer_apply")}
    keep = "none" if "strip_profile" in flags or "force_strip" in flags else "icc"
    if "keep_iptc" in flags or "keep_attribution" in flags:
        keep = "icc,iptc,exif,xmp" if keep == "icc" else "iptc,exif,xmp"
    return EncodeOptions(
        format=fmt,
        quality=encoder_quality(fmt, quality, save_data),
        progressive="progressive" in flags,
        lossy="lossy" in flags or "png8" in flags,
        keep=keep,
        background=background or (255, 255, 255),
        chroma=quality.modifier if quality and quality.modifier in ("444", "420") else None,
    )


def _has_transparency(image: pyvips.Image) -> bool:
    return bool(image.hasalpha() and image.extract_band(image.bands - 1).min() < 255)


def _decoded_source(state: RenderState, source_format: str, source_key: str) -> Callable[[], pyvips.Image] | None:
    memory = decoded.shared()
    if not memory.admits(source_format, state.width, state.height, state.pages):
        return None
    key = f"{source_key}[{state.load_options}]{'' if state.autorotate else ':no-rotate'}"
    return lambda: memory.get(key, lambda: decode_whole(state))


def _new_state(
    source_path: str,
    chain: Chain,
    *,
    source_format: str,
    requested_format: str | None,
    limits: RenderLimits,
    load_layer: LayerLoader | None,
    client_width: int | None,
    client_dpr: float | None,
    tags: Sequence[str],
    context: Mapping[str, str] | None,
    metadata: Mapping[str, str] | None,
    source_key: str | None,
) -> RenderState:
    """Open the source (header only) and set up the per-request context."""
    autorotate = not any("ignore" in c.angle for c in chain.components)
    load_options = load_options_for(chain, source_format)
    source, width, height, pages = open_source(source_path, source_format, limits, autorotate, load_options)
    target = (chain.fetch_format or requested_format or source_format).lower()
    state = RenderState(
        path=source_path, limits=limits, source=source, image=None, width=width, height=height, pages=pages,
        initial_width=width, initial_height=height, autorotate=autorotate,
        transparent_pad=target in _FORMATS_WITH_ALPHA or (target.startswith("auto") and source_format == "png"),
        load_layer=load_layer, client_width=client_width, client_dpr=client_dpr,
        chain_dpr=_standalone_dpr(chain),  # type: ignore[arg-type]
        load_options=",".join(f"{key}={value}" for key, value in load_options.items() if key != "n"),
        tags=tuple(tags), context=dict(context or {}), metadata=dict(metadata or {}),
        deadline=None if limits.max_seconds is None else time.monotonic() + limits.max_seconds,
    )
    if source_key is not None:
        state.decoded = _decoded_source(state, source_format, source_key)
    return state


def render_image(
    source_path: str | os.PathLike[str],
    chain: Chain,
    *,
    source_format: str = "jpg",
    requested_format: str | None = None,
    limits: RenderLimits = RenderLimits(),
    load_layer: LayerLoader | None = None,
    client_width: int | None = None,
    client_dpr: float | None = None,
    tags: Sequence[str] = (),
    context: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
    source_key: str | None = None,
) -> RenderedImage:
    """Run `chain` over the image at `source_path` and return the pixels, not yet encoded.

    For callers that combine rendered images (sprites, animations, PDFs) instead of
    delivering them: encoding and decoding again would only cost time. The arguments mean
    what they mean for `render`; `requested_format` matters because padding is transparent
    for formats with alpha. Keep the source file until the image is in memory: the result
    may still read from it (`RenderedImage.image`).
    """
    source_path = str(source_path)  # pyvips wants str; callers may hold a Path
    state = _new_state(
        source_path, chain, source_format=source_format.lower(), requested_format=requested_format, limits=limits,
        load_layer=load_layer, client_width=client_width, client_dpr=client_dpr, tags=tags, context=context,
        metadata=metadata, source_key=source_key,
    )
    try:
        _run(list(chain.components), state)
        # A sequential read without alpha can stream into the encoder; anything else is in memory.
        streaming = state.image is not None and state.sequential and not state.image.hasalpha()
        image = state.image if streaming else pixels(state)
    except pyvips.Error as error:
        raise InvalidImage("Image could not be processed", detail=str(error)) from None
    return RenderedImage(image=image, pages=state.pages, frame_height=state.height, delay=state.delay, background=state.background)


def _encodable(rendered: RenderedImage, fmt: str) -> pyvips.Image:
    """The frames `fmt` can hold: all of an animation (with its delays) or only the first."""
    if rendered.pages == 1:
        return rendered.image
    if fmt not in ANIMATED_FORMATS:
        return rendered.first_frame()
    if not rendered.delay:
        return rendered.image
    image = rendered.image.copy()
    image.set_type(pyvips.GValue.array_int_type, "delay", rendered.delay)
    return image


def render(
    source_path: str | os.PathLike[str],
    chain: Chain,
    *,
    source_format: str = "jpg",
    requested_format: str | None = None,
    accept: str | None = None,
    limits: RenderLimits = RenderLimits(),
    load_layer: LayerLoader | None = None,
    client_width: int | None = None,
    client_dpr: float | None = None,
    save_data: bool = False,
    tags: Sequence[str] = (),
    context: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
    source_key: str | None = None,
) -> Rendered:
    """Render `chain` over the image at `source_path` and encode it. Synchronous and
    CPU-bound: call it from a worker thread. User mistakes raise Invalid subclasses.

    `client_width`/`client_dpr`/`save_data` come from client hints (`w_auto`, `dpr_auto`,
    `q_auto`); `tags`, `context` and `metadata` are the asset's, for conditions
    (`if_!sale!_in_tags`) and values (`ctx:!key!`). `source_key` names these exact source
    bytes (one version of one asset); with it, formats that cannot shrink on load are decoded
    once and their pixels kept in the process's memory of decoded sources (`decoded.py`).
    """
    rendered = render_image(
        source_path, chain, source_format=source_format, requested_format=requested_format, limits=limits,
        load_layer=load_layer, client_width=client_width, client_dpr=client_dpr, tags=tags, context=context,
        metadata=metadata, source_key=source_key,
    )
    target = (chain.fetch_format or requested_format or source_format).lower()
    try:
        # Only f_auto asks whether any pixel is transparent (a full pass over the image).
        has_alpha = _has_transparency(rendered.image) if target.startswith("auto") else rendered.image.hasalpha()
        choice = choose_format(chain.fetch_format, requested_format, source_format, accept, has_alpha=has_alpha, animated=rendered.pages > 1)
        image = _encodable(rendered, choice.format)
        data = encode(image, _encode_options(chain, choice.format, rendered.background, save_data))
    except pyvips.Error as error:
        raise InvalidImage("Image could not be processed", detail=str(error)) from None
    width, height = image.width, rendered.frame_height if choice.format in ANIMATED_FORMATS else image.height
    if choice.format == "ico":
        width, height = encoders.icon_size(data)  # an icon larger than 256 px was shrunk to fit
    return Rendered(
        data=data, format=choice.format, content_type=content_type_for(choice.format),
        width=width, height=height, vary_accept=choice.vary_accept,
    )
