"""Typed, frozen nodes for a parsed transformation.

A `Chain` is the URL's `/`-separated components in order; a `Component` holds the
parameters of one component under Cloudinary's names. Nodes are values: equal nodes
mean the same picture, so `Chain.canonical()` (the derivative cache key) is a function of
the node alone. Layer scoping (`l_` … `fl_layer_apply`) and conditional blocks are kept
flat, exactly as written, and interpreted by the renderer.

Expressions keep their text (the canonical form) and give their parsed tree as `parsed`;
references to `$variables` are replaced by `bind(values)` once the values are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from darkroom.transform.expressions import Node, parse_expression


@dataclass(frozen=True)
class Pixels:
    """An absolute length in pixels (`w_300`)."""

    value: int


@dataclass(frozen=True)
class Relative:
    """A fraction of the reference size (`w_0.5`, `w_1.0` = 100 %)."""

    value: float


@dataclass(frozen=True)
class Expression:
    """An arithmetic or boolean expression in URL tokens (`iw_div_2`, `w_gt_400`, `$small`)."""

    text: str

    @property
    def parsed(self) -> Node:
        return parse_expression(self.text)


@dataclass(frozen=True)
class AutoSize:
    """`w_auto[:step][:min]` or `w_auto:breakpoints…`: sized from the client's Width hint."""

    args: tuple[str, ...] = ()


Length = Pixels | Relative | Expression
Size = Pixels | Relative | Expression | AutoSize


@dataclass(frozen=True)
class AspectRatio:
    """Width over height, kept as the two numbers written (`16:9`) or `n:1` for a decimal."""

    width: float
    height: float = 1

    @property
    def value(self) -> float:
        return self.width / self.height


@dataclass(frozen=True)
class Effect:
    """`e_name[:arg…]`; defaulted trailing arguments are dropped so equal effects compare equal."""

    name: str
    args: tuple[str, ...] = ()

    def arg(self, index: int) -> str | None:
        """The argument at `index` as written, or its documented default; None for neither."""
        from darkroom.transform.effects import argument

        return argument(self, index)

    def integer(self, index: int, fallback: int) -> int:
        """The argument (or its default) as an integer, `fallback` for neither; a ParseError
        when it is not a number (an argument left as a `$variable`)."""
        from darkroom.transform.effects import integer_argument

        return integer_argument(self, index, fallback)

    def bounded(self, index: int, low: int, high: int, *, signed: bool = False) -> int:
        """A free-text argument read as a whole number in [low, high], else a ParseError."""
        from darkroom.transform.effects import bounded_argument

        return bounded_argument(self, index, low, high, signed=signed)

    def color(self, index: int) -> tuple[int, int, int, int]:
        """A colour argument (a name, `rgb:…` or bare hex) as RGBA 0-255, else a ParseError."""
        from darkroom.transform.effects import color_argument

        return color_argument(self, index)

    def bind(self, values: Mapping[str, object]) -> Effect:
        """`e_$fx` as the effect the variable names; other effects unchanged."""
        if not self.name.startswith("$"):
            return self
        from darkroom.transform.binding import bind_effect

        return bind_effect(self, values)


@dataclass(frozen=True)
class Border:
    """`bo_<width>px_<style>_<color>`."""

    width: int
    style: str
    color: str


@dataclass(frozen=True)
class Background:
    """`b_`: a colour, or an automatic / blurred / generative fill (`kind` says which)."""

    kind: str  # "color", "auto", "blurred", "gen_fill"
    color: str | None = None
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Radius:
    """`r_`: one to four corner radii in pixels, clockwise from top-left, or `max`."""

    corners: tuple[int, ...] = ()
    is_max: bool = False

    @property
    def four_corners(self) -> tuple[int, int, int, int]:
        """Top-left, top-right, bottom-right, bottom-left: 2 values are TL/BR : TR/BL, 3 are
        TL : TR/BL : BR (the CSS shorthand's order)."""
        c = self.corners
        if len(c) == 1:
            return c[0], c[0], c[0], c[0]
        if len(c) == 2:
            return c[0], c[1], c[0], c[1]
        if len(c) == 3:
            return c[0], c[1], c[2], c[1]
        return c[0], c[1], c[2], c[3]


@dataclass(frozen=True)
class Quality:
    """`q_`: a fixed level (1-100) or an automatic target (`best`, `good`, `eco`, `low`)."""

    level: int | None = None
    auto: str | None = None
    # Chroma subsampling (`444`, `420`) or the video quantizer cap (`qmax_80`).
    modifier: str | None = None
    jpegmini: bool = False


@dataclass(frozen=True)
class Flag:
    """One `fl_` flag; only `attachment` (and a few others) carry an argument."""

    name: str
    arg: str | None = None


@dataclass(frozen=True)
class TextStyle:
    """The style part of `l_text:<style>:<text>`."""

    font_family: str
    font_size: int
    font_weight: str = "normal"  # "bold", "light", …
    font_style: str = "normal"  # "italic"
    text_decoration: str = "none"  # "underline", "strikethrough"
    text_align: str | None = None
    stroke: bool = False
    letter_spacing: float | None = None
    line_spacing: float | None = None
    font_antialias: str | None = None
    font_hinting: str | None = None


@dataclass(frozen=True)
class Layer:
    """The source of an overlay (`l_`) or underlay (`u_`).

    `kind` is "image" (a stored asset), "text", "fetch" (a remote URL) or "subtitles".
    """

    kind: str
    public_id: str | None = None
    format: str | None = None
    resource_type: str = "image"
    delivery_type: str = "upload"
    text: str | None = None
    style: TextStyle | None = None
    style_variable: str | None = None  # `$name` whose value is the style, resolved when rendering
    url: str | None = None

    @property
    def loader_key(self) -> str | None:
        """What a layer loader is asked for: a stored image's public ID, `fetch:URL` for a
        remote one, None for layers that are not loaded from a file (text)."""
        if self.kind == "fetch":
            return f"fetch:{self.url}"
        return self.public_id if self.kind == "image" else None

    def bind(self, values: Mapping[str, object]) -> Layer:
        """`l_$img` as the image the variable names; a text layer's `$style` and `$(name)`
        words filled in. A ParseError when a variable is missing or holds the wrong kind."""
        from darkroom.transform.binding import bind_layer

        return bind_layer(self, values)


@dataclass(frozen=True)
class Variable:
    """`$name_value`: a user variable defined for the rest of the chain."""

    name: str
    value: str

    @property
    def parsed(self) -> Node:
        """The assigned expression's tree."""
        return parse_expression(self.value)


@dataclass(frozen=True)
class Component:
    """One `/`-separated step of a chain; fields are Cloudinary's option names.

    `condition` is the `if_` expression; the block markers are the conditions "else" and
    "end". A field left at its default was not given in the URL.
    """

    condition: str | None = None
    variables: tuple[Variable, ...] = ()
    angle: tuple[int | float | str, ...] = ()
    audio_codec: str | None = None
    audio_frequency: str | None = None
    aspect_ratio: AspectRatio | Expression | None = None
    background: Background | None = None
    border: Border | None = None
    bit_rate: str | None = None
    crop: str | None = None
    color: str | None = None
    color_space: str | None = None
    default_image: str | None = None
    delay: int | None = None
    density: int | None = None
    dpr: float | str | None = None  # a number or "auto"
    duration: str | None = None
    effects: tuple[Effect, ...] = ()
    end_offset: str | None = None
    fetch_format: str | None = None
    flags: tuple[Flag, ...] = ()
    custom_function: str | None = None
    fps: str | None = None
    gravity: str | None = None
    height: Size | None = None
    keyframe_interval: str | None = None
    overlay: Layer | None = None
    opacity: int | Expression | None = None
    prefix: str | None = None
    page: str | None = None
    quality: Quality | None = None
    radius: Radius | None = None
    start_offset: str | None = None
    streaming_profile: str | None = None
    underlay: Layer | None = None
    video_codec: str | None = None
    video_sampling: str | None = None
    width: Size | None = None
    x: Length | None = None
    y: Length | None = None
    zoom: float | None = None

    @property
    def is_empty(self) -> bool:
        return self == _EMPTY

    def has_flag(self, name: str) -> bool:
        return any(flag.name == name for flag in self.flags)

    def flag_arg(self, name: str) -> str | None:
        return next((flag.arg for flag in self.flags if flag.name == name), None)

    @property
    def parsed_condition(self) -> Node | None:
        """The `if_` expression's tree; None without a condition or for a block marker."""
        if self.condition is None or self.condition in ("else", "end"):
            return None
        return parse_expression(self.condition)

    def bind(self, values: Mapping[str, object]) -> Component:
        """The component with its effects and layers bound to `values` (see `Effect.bind`,
        `Layer.bind`); the variables it assigns are left to the renderer."""
        effects = tuple(effect.bind(values) for effect in self.effects)
        overlay = self.overlay.bind(values) if self.overlay is not None else None
        underlay = self.underlay.bind(values) if self.underlay is not None else None
        if effects == self.effects and overlay is self.overlay and underlay is self.underlay:
            return self
        return replace(self, effects=effects, overlay=overlay, underlay=underlay)


_EMPTY = Component()


@dataclass(frozen=True)
class Chain:
    """A whole transformation: the components in the order they apply."""

    components: tuple[Component, ...] = field(default=())

    def canonical(self) -> str:
        """The canonical URL text, the derivative cache key: one text for every spelling of
        the same picture (`w_300` and `c_scale,w_300`); `parse(c.canonical()) == canonicalize(c)`."""
        from darkroom.transform.canonical import canonicalize
        from darkroom.transform.serializer import serialize

        return serialize(canonicalize(self))

    @property
    def is_empty(self) -> bool:
        return all(component.is_empty for component in self.components)

    def bind(self, values: Mapping[str, object]) -> Chain:
        """Every component bound to the same `values`: for variables whose values are known
        before rendering (the renderer binds each component with the values at that point)."""
        return Chain(tuple(component.bind(values) for component in self.components))

    def layer_public_ids(self) -> tuple[str, ...]:
        """Public ids of stored images that overlays and underlays use, first use first.

        A layer named by a variable (`$img_!logo!/l_$img`) counts with every string the chain
        assigns to that variable before it: which one applies may depend on a condition,
        decided only while rendering (values computed from context are not known here)."""
        ids: list[str] = []
        literals: dict[str, list[str]] = {}
        for component in self.components:
            for variable in component.variables:
                if variable.value.startswith("!") and variable.value.endswith("!") and len(variable.value) > 2:
                    literals.setdefault(variable.name, []).append(variable.value[1:-1])
            for layer in (component.overlay, component.underlay):
                if layer is None or layer.kind != "image" or layer.resource_type != "image":
                    continue
                written = layer.public_id or ""  # an image layer always names one
                named = literals.get(written, []) if written.startswith("$") else [written]
                ids.extend(public_id for public_id in named if public_id not in ids)
        return tuple(ids)

    @property
    def standalone_dpr(self) -> float | str | None:
        """A `dpr_` given in a component of its own (no size, no crop): it scales every size of
        the chain, before it and after it; "auto" means the client's."""
        for component in self.components:
            if component.dpr is not None and component.width is None and component.height is None and component.crop is None:
                return component.dpr
        return None

    def fetched_layers(self) -> tuple[Layer, ...]:
        """Remote images (`l_fetch:…`) that overlays and underlays use, one per URL, first use first."""
        found: dict[str, Layer] = {}
        for component in self.components:
            for layer in (component.overlay, component.underlay):
                if layer is not None and layer.kind == "fetch" and layer.url is not None and layer.url not in found:
                    found[layer.url] = layer
        return tuple(found.values())

    @property
    def attachment(self) -> str | None:
        """The `fl_attachment` file name: "" for the bare flag, None when absent."""
        for component in self.components:
            if component.has_flag("attachment"):
                return component.flag_arg("attachment") or ""
        return None

    @property
    def fetch_format(self) -> str | None:
        """The last `f_` in the chain: it overrides the URL's extension."""
        found = None
        for component in self.components:
            if component.fetch_format is not None:
                found = component.fetch_format
        return found
