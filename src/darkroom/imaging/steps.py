"""One component's steps, in a fixed order: variables, auto-rotation, resize, effects,
rounded corners, rotation, border, background, opacity, frame delay.

The URL's order inside a component means nothing; `STEPS` is the order, and limits (pixels,
the deadline) are checked between steps, before libvips' lazy pipeline does the work.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyvips

from darkroom.imaging import effects as fx
from darkroom.imaging import layers
from darkroom.imaging.context import RenderState, each_frame, environment, length, pixels
from darkroom.imaging.errors import TooManyPixels, TooSlow
from darkroom.imaging.expressions import evaluate, evaluate_number
from darkroom.imaging.faces import detect_faces, union
from darkroom.imaging.focus import stored_boxes
from darkroom.imaging.model_effects import apply_model_effect, standin
from darkroom.imaging.geometry import Box
from darkroom.imaging.resize import background_rgba, resize
from darkroom.transform import Component, Pixels, Radius, rgba


def _effect_region(component: Component, state: RenderState) -> Box | None:
    if (component.gravity or "").startswith("ocr_text") and state.regions.text:
        return union(stored_boxes(state, state.regions.text))  # `e_blur_region,g_ocr_text`: the text found by OCR
    if component.width is None and component.height is None and component.x is None and component.y is None:
        return None
    x = length(component.x, state.width, state) or 0
    y = length(component.y, state.height, state) or 0
    w = length(component.width, state.width, state) or state.width - x
    h = length(component.height, state.height, state) or state.height - y
    return Box(x, y, w, h)


def _effects(component: Component, state: RenderState) -> None:
    faces = _stored_faces(state) if state.regions.faces else detect_faces
    for effect in component.effects:
        effect = standin(effect.bind(state.variables))  # `e_$fx`: the effect the variable names by now
        model = (state.model_effects or {}).get(effect.name)
        if model is not None:
            each_frame(state, lambda frame: apply_model_effect(frame, model))
            continue
        region = _effect_region(component, state) if effect.name.endswith("_region") else None
        context = fx.EffectContext(component=component, faces=faces, region=region)
        each_frame(state, lambda frame: fx.apply_effect(frame, effect, context))  # runs now, in this iteration


def _stored_faces(state: RenderState) -> Callable[[pyvips.Image], list[Box]]:
    """The asset's stored face coordinates, in the pixels of the frame a face effect gets."""
    assert state.regions.faces is not None
    boxes = state.regions.faces
    return lambda frame: stored_boxes(state, boxes)


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
    colour = background_rgba(component, state, frame)
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
            quarter = 90 if value == "auto_right" else 270
            each_frame(state, lambda f: _rotate_by(f, quarter, state, component))
        elif auto_only or value == "ignore":
            continue
        elif value == "hflip":
            each_frame(state, lambda f: f.fliphor())
        elif value == "vflip":
            each_frame(state, lambda f: f.flipver())
        else:
            degrees = float(value)
            each_frame(state, lambda f: _rotate_by(f, degrees, state, component))


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
    amount = component.opacity if isinstance(component.opacity, int) else evaluate_number(component.opacity.parsed, environment(state))
    amount = max(0.0, min(100.0, float(amount))) / 100

    def run(frame: pyvips.Image) -> pyvips.Image:
        rgb, alpha = fx.split_alpha(layers.with_alpha(frame))
        assert alpha is not None  # with_alpha added one
        return fx.join_alpha(rgb, alpha * amount)

    each_frame(state, run)


def _variables(component: Component, state: RenderState) -> None:
    for variable in component.variables:
        state.variables[variable.name] = evaluate(variable.parsed, environment(state))


def _auto_angle(component: Component, state: RenderState) -> None:
    _angle(component, state, auto_only=True)


def _geometry(component: Component, state: RenderState) -> None:
    if any(effect.name.endswith("_region") for effect in component.effects):
        return  # w/h/x/y describe the effect's region, not a resize
    resize(component, state)


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
