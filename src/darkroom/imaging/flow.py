"""Walking a chain: conditional blocks (`if_…` / `if_else` / `if_end`), inline conditions,
and layer scopes (`l_…` … `fl_layer_apply`), each component handed to `steps.apply_component`.

A layer is rendered as an image of its own (a `RenderState` with a copy of the base's
variables at its opening), transformed by the components inside its scope, then placed on the base.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyvips

from darkroom.imaging import layers
from darkroom.imaging.context import RenderState, dpr_of, each_frame, environment, first_frame, length, normalise, pixels
from darkroom.imaging.errors import TooManyPixels
from darkroom.imaging.expressions import evaluate
from darkroom.imaging.faces import detect_faces
from darkroom.imaging.geometry import Placement, is_focus_gravity
from darkroom.imaging.steps import apply_component
from darkroom.transform import Component, Pixels, Relative


def _layer_image(component: Component, state: RenderState) -> pyvips.Image:
    written = component.overlay or component.underlay
    assert written is not None
    layer = written.bind(state.variables)  # `l_$img`, `l_text:$style:…`, `$(name)` in the text
    if layer.kind == "text":
        size = layer.style.font_size if layer.style else 12
        if size * size * len(layer.text or "") > state.limits.max_output_pixels:
            raise TooManyPixels("Text layer is too large")
        return layers.text_image(layer, component.color)
    key = layer.loader_key
    path = state.load_layer(key) if state.load_layer and key is not None else None
    image = layers.load_image_layer(layer, path)
    if image.width * image.height > state.limits.max_source_pixels:
        raise TooManyPixels("Layer image is too large to process")
    return image


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


# Where the layer goes: read by `_place`, not a transformation of the layer itself.
_PLACEMENT_FIELDS: dict[str, Any] = {"gravity": None, "x": None, "y": None, "flags": ()}


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
    source = opening.overlay or opening.underlay
    assert source is not None  # `start` opens a layer
    own = replace(opening, overlay=None, underlay=None, color=None if source.kind == "text" else opening.color)
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


def _holds(component: Component, state: RenderState) -> bool:
    """Whether the component's `if_` condition is true of the image as it is now."""
    condition = component.parsed_condition
    assert condition is not None  # the block markers `else` and `end` are handled before
    return bool(evaluate(condition, environment(state)))


def run(components: list[Component], state: RenderState) -> None:
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
            holds = active and _holds(component, state)
            branches.append(holds)
            taken.append(holds)
            index += 1
            continue
        if not active or (condition is not None and not _holds(component, state)):
            index += 1
            continue
        component = replace(component, condition=None)
        if component.overlay is not None or component.underlay is not None:
            components = components[:index] + [component] + components[index + 1 :]
            index = _run_layer(components, index, state)
            continue
        apply_component(component, state)
        index += 1
