"""Folding spellings that mean the same picture into one AST: the derivative cache key.

The parser already folds what it can see in one value (colour spellings, `f_jpeg`,
`q_auto:good`, an effect's default argument, the order of keys and flags). What remains
needs the rest of the component: a parameter whose value is what Cloudinary does when it
is absent. `canonicalize` removes those, so `w_300` and `c_scale,w_300` share a derivative.

Only equivalences that hold in Cloudinary's documented semantics belong here, each with
the reason; the renderer must draw the same pixels for a chain and its canonical form
(`tests/imaging/test_canonical_renders.py` checks every rule).

    canonicalize(parse("c_scale,w_300/a_0/r_10:10:10:10")) == parse("w_300/r_10")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

from darkroom.transform.ast import AspectRatio, Chain, Component, Radius

# Modes whose crop window or pad position defaults to the centre, x/y or not aside.
# (c_crop is left out: there x/y without a gravity are the window's top-left corner. The
# auto modes are left out: `c_auto` without a gravity means `g_auto`.)
_CENTRED_BY_DEFAULT = frozenset(("fill", "lfill", "pad", "lpad", "mpad"))
_SMALL_DENOMINATOR = 1000  # a decimal aspect ratio that is exactly n/d with d ≤ this is written n:d


def canonicalize(chain: Chain) -> Chain:
    """The chain with defaults spelled out in the URL removed; components left empty go."""
    components = (canonical_component(component) for component in chain.components)
    return Chain(tuple(component for component in components if not component.is_empty))


def canonical_component(component: Component) -> Component:
    for rule in RULES:
        component = rule(component)
    return component


def _sized(component: Component) -> bool:
    """w/h size the image (with a `*_region` effect they place the region instead)."""
    has_size = component.width is not None or component.height is not None
    return has_size and not any(effect.name.endswith("_region") for effect in component.effects)


def _without_default_crop(component: Component) -> Component:
    """Scale is the crop mode when a size comes without one."""
    if component.crop == "scale" and _sized(component):
        return replace(component, crop=None)
    return component


def _without_default_gravity(component: Component) -> Component:
    """Fill and pad modes centre by default (only without x/y, whose meaning may depend on
    whether a gravity was given)."""
    if component.gravity == "center" and component.crop in _CENTRED_BY_DEFAULT and component.x is None and component.y is None:
        return replace(component, gravity=None)
    return component


def _without_default_zoom(component: Component) -> Component:
    """`z_1.0` is the zoom of a URL without `z_`."""
    if component.zoom == 1.0:
        return replace(component, zoom=None)
    return component


def _with_reduced_aspect_ratio(component: Component) -> Component:
    """One spelling per ratio: `ar_32:18` → `ar_16:9`, `ar_2:1` and `ar_2.0` → `ar_2`,
    `ar_1.5` → `ar_3:2`. Decimals that are not exactly a small fraction stay as written."""
    ratio = component.aspect_ratio
    if not isinstance(ratio, AspectRatio):
        return component
    reduced = _reduced(ratio)
    return component if reduced == ratio and _same_types(reduced, ratio) else replace(component, aspect_ratio=reduced)


def _reduced(ratio: AspectRatio) -> AspectRatio:
    exact = Fraction(ratio.width) / Fraction(ratio.height)
    if exact.denominator > _SMALL_DENOMINATOR:
        return ratio
    return AspectRatio(exact.numerator, exact.denominator)


def _same_types(a: AspectRatio, b: AspectRatio) -> bool:
    """`AspectRatio(2.0)` equals `AspectRatio(2)` but prints `2.0`: the key must not differ."""
    return type(a.width) is type(b.width) and type(a.height) is type(b.height)


def _with_shortest_radius(component: Component) -> Component:
    """Corner radii in their shortest form (`r_10:10:10:10` → `r_10`); all zero is no radius."""
    radius = component.radius
    if radius is None or radius.is_max:
        return component
    top_left, top_right, bottom_right, bottom_left = radius.four_corners
    if not any((top_left, top_right, bottom_right, bottom_left)):
        return replace(component, radius=None)
    if top_left == top_right == bottom_right == bottom_left:
        corners: tuple[int, ...] = (top_left,)
    elif top_left == bottom_right and top_right == bottom_left:
        corners = (top_left, top_right)
    elif top_right == bottom_left:
        corners = (top_left, top_right, bottom_right)
    else:
        corners = (top_left, top_right, bottom_right, bottom_left)
    return replace(component, radius=Radius(corners))


def _without_noop_border(component: Component) -> Component:
    """A border 0 px wide draws nothing."""
    if component.border is not None and component.border.width == 0:
        return replace(component, border=None)
    return component


def _without_default_angle(component: Component) -> Component:
    """`a_0` (on its own) turns nothing."""
    if component.angle == (0,):
        return replace(component, angle=())
    return component


# Each rule looks at one component and returns it with one kind of default removed.
RULES: tuple[Callable[[Component], Component], ...] = (
    _without_default_crop,
    _without_default_gravity,
    _without_default_zoom,
    _with_reduced_aspect_ratio,
    _with_shortest_radius,
    _without_noop_border,
    _without_default_angle,
)
