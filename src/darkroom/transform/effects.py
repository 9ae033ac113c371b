"""The effects Cloudinary documents, with their argument ranges and server defaults.

Parsing checks each argument against its spec; the canonical form drops trailing
arguments that equal the default, so `e_sepia` and `e_sepia:80` share one derivative.
Effects that need a model (`gen_*`, `background_removal`, …) still parse: refusing them
is the renderer's decision, made with a clear message.

The canonical form keeps arguments as written; the renderer reads them as values through
`Effect.arg`, `Effect.integer`, `Effect.bounded` and `Effect.color`, whose readings live
here (`argument`, `integer_argument`, …) so every effect reads its numbers and colours alike.
A free-text argument the spec cannot check (an outline's width) is checked when read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from darkroom.transform.ast import Effect
from darkroom.transform.colors import parse_color, rgba
from darkroom.transform.errors import ParseError
from darkroom.transform.expressions import VARIABLE_NAME


@dataclass(frozen=True)
class Arg:
    """One positional effect argument: a number in [low, high] or free text, with a default."""

    low: int | None = None  # None = free text (modes, colours, regions)
    high: int | None = None
    default: str | None = None
    words: frozenset[str] = frozenset()  # words accepted where a number is expected


# Checks an effect's whole argument list at parse time (forms a range cannot describe:
# `e_distort:arc:90`, `e_contrast:level_30;type_linear`); raises ValueError when it is wrong.
ArgsCheck = Callable[[tuple[str, ...]], None]


@dataclass(frozen=True)
class Spec:
    args: tuple[Arg, ...] = ()
    variadic: bool = False  # further free-text arguments allowed (tint colours, …)
    check: ArgsCheck | None = None


def _n(low: int, high: int, default: int | None = None, *words: str) -> Arg:
    return Arg(low, high, None if default is None else str(default), frozenset(words))


_TEXT = Arg()

# Cloudinary's named art filters (`e_art:<name>`).
ART_FILTERS = frozenset(
    "al_dente athena audrey aurora daguerre eucalyptus fes frost hairspray hokusai incognito linen peacock "
    "primavera quartz red_rock refresh sizzle sonnet ukulele zorro".split()
)
COLORBLIND_CONDITIONS = frozenset(
    "deuteranopia protanopia tritanopia tritanomaly deuteranomaly cone_monochromacy rod_monochromacy".split()
)
CONTRAST_TYPES = frozenset(("sigmoidal", "linear"))
# e_vectorize's options, in their positional order, with Cloudinary's ranges and defaults.
VECTORIZE_OPTIONS: dict[str, tuple[float, float, float]] = {
    "colors": (2, 30, 10),
    "detail": (0, 1000, 0.3),  # a fraction of the image (0-1) or pixels (above 1)
    "despeckle": (0, 1000, 0.1),  # likewise
    "paths": (0, 100, 100),
    "corners": (0, 100, 25),
}
DISTORT_MAX = 100_000  # px, any corner coordinate
_NUMBER = re.compile(r"-?\d{1,9}(\.\d{1,6})?")


def _whole(text: str, low: int, high: int) -> int:
    if not re.fullmatch(r"-?\d{1,9}", text) or not low <= int(text) <= high:
        raise ValueError(text)
    return int(text)


def _check_art(args: tuple[str, ...]) -> None:
    if len(args) != 1 or args[0] not in ART_FILTERS:
        raise ValueError(":".join(args))


def _check_contrast(args: tuple[str, ...]) -> None:
    """`e_contrast[:level]` or `e_contrast:level_<level>[;type_<sigmoidal|linear>]`."""
    for part in args[0].split(";") if args else ():
        key, _, value = part.rpartition("_")
        if key == "level":
            _whole(value, -100, 100)
        elif key == "type" and value in CONTRAST_TYPES:
            continue
        elif key or not part:
            raise ValueError(part)
        else:
            _whole(part, -100, 100)


def _check_distort(args: tuple[str, ...]) -> None:
    """`e_distort:arc:<degrees>` (a non-zero angle up to ±360) or eight corner coordinates."""
    if args[:1] == ("arc",):
        if len(args) != 2 or _whole(args[1], -360, 360) == 0:
            raise ValueError(":".join(args))
        return
    if len(args) != 8:
        raise ValueError(":".join(args))
    for arg in args:
        _whole(arg, -DISTORT_MAX, DISTORT_MAX)


def _check_colorblind_mode(args: tuple[str, ...]) -> None:
    if args and args[0] not in COLORBLIND_CONDITIONS:
        raise ValueError(args[0])


def _check_assist_colorblind(args: tuple[str, ...]) -> None:
    if args and args[0] != "xray":
        _whole(args[0], 1, 100)


def vectorize_options(args: tuple[str, ...]) -> dict[str, float]:
    """`e_vectorize`'s options by name, from the positional form (`3:0.5`) or the named form
    (`colors:3:detail:0.5`); ValueError for a wrong name, count or value."""
    options = {name: default for name, (_, _, default) in VECTORIZE_OPTIONS.items()}
    names = list(VECTORIZE_OPTIONS)
    if args and args[0] in VECTORIZE_OPTIONS:
        if len(args) % 2:
            raise ValueError(":".join(args))
        pairs = list(zip(args[::2], args[1::2]))
    else:
        if len(args) > len(names):
            raise ValueError(":".join(args))
        pairs = list(zip(names, args))
    for name, text in pairs:
        if name not in VECTORIZE_OPTIONS or not _NUMBER.fullmatch(text):
            raise ValueError(f"{name}:{text}")
        low, high, _ = VECTORIZE_OPTIONS[name]
        value = float(text)
        if not low <= value <= high or (name == "colors" and not value.is_integer()):
            raise ValueError(f"{name}:{text}")
        options[name] = value
    return options


def _check_vectorize(args: tuple[str, ...]) -> None:
    vectorize_options(args)


def theme_options(args: tuple[str, ...]) -> tuple[tuple[int, int, int, int], int]:
    """`e_theme:color_<colour>[:photosensitivity_<0-200>]` → (RGBA, photosensitivity);
    ValueError or ParseError when wrong."""
    color, sensitivity = None, 100
    for arg in args:
        key, _, value = arg.partition("_")
        if key == "color" and value:
            color = value
        elif key == "photosensitivity":
            sensitivity = _whole(value, 0, 200)
        else:
            raise ValueError(arg)
    if color is None:
        raise ValueError("color")
    return rgba(parse_color("e", "rgb:" + color if _is_hex(color) else color)), sensitivity


def _check_theme(args: tuple[str, ...]) -> None:
    theme_options(args)

EFFECTS: dict[str, Spec] = {
    "grayscale": Spec(),
    "negate": Spec(),
    "sepia": Spec((_n(1, 100, 80),)),
    "blackwhite": Spec((_n(0, 100, 50, "bw"),)),
    "improve": Spec((_TEXT, _TEXT)),
    "sharpen": Spec((_n(1, 2000, 100),)),
    "unsharp_mask": Spec((_n(1, 2000, 100),)),
    "vignette": Spec((_n(0, 100, 20),)),
    "blur": Spec((_n(1, 2000, 100),)),
    "blur_region": Spec((_n(1, 2000, 100),)),
    "blur_faces": Spec((_n(1, 2000, 500),)),
    "pixelate": Spec((_n(1, 2000),)),
    "pixelate_region": Spec((_n(1, 2000),)),
    "pixelate_faces": Spec((_n(1, 2000),)),
    "brightness": Spec((_n(-99, 100, 80),)),
    "contrast": Spec((Arg(default="0"),), check=_check_contrast),
    "saturation": Spec((_n(-100, 100, 80),)),
    "gamma": Spec((_n(-50, 150, 0),)),
    "hue": Spec((_n(-100, 100, 80),)),
    "vibrance": Spec((_n(-100, 100, 20),)),
    "red": Spec((_n(-100, 100, 0),)),
    "green": Spec((_n(-100, 100, 0),)),
    "blue": Spec((_n(-100, 100, 0),)),
    "auto_brightness": Spec((_n(0, 100, 100),)),
    "auto_contrast": Spec((_n(0, 100, 100),)),
    "auto_color": Spec((_n(0, 100, 100),)),
    "fill_light": Spec((_n(0, 100, 100), _n(-100, 100, 0))),
    "colorize": Spec((_n(0, 100, 100),)),
    "tint": Spec((_n(0, 100, 60, "equalize"),), variadic=True),  # `equalize` comes before the amount
    "oil_paint": Spec((_n(0, 100, 30),)),
    "cartoonify": Spec((_TEXT, _TEXT)),
    "outline": Spec((_TEXT, _TEXT, _TEXT)),
    "shadow": Spec((_n(0, 100, 40),)),
    "trim": Spec((_n(0, 100, 10), _TEXT)),
    "make_transparent": Spec((_n(0, 100, 10),)),
    "replace_color": Spec((_TEXT, _TEXT, _TEXT)),
    "art": Spec((_TEXT,), check=_check_art),
    "gradient_fade": Spec((_TEXT, _TEXT)),
    "noise": Spec((_n(0, 100, 0),)),
    "shear": Spec((_TEXT, _TEXT)),
    "distort": Spec((_TEXT,), variadic=True, check=_check_distort),
    "redeye": Spec(),
    "adv_redeye": Spec(),
    "ordered_dither": Spec((_n(0, 18, 0),)),
    "assist_colorblind": Spec((Arg(default="10"),), check=_check_assist_colorblind),
    "simulate_colorblind": Spec((Arg(default="deuteranopia"),), check=_check_colorblind_mode),
    "multiply": Spec(),
    "screen": Spec(),
    "overlay": Spec(),
    "mask": Spec(),
    "cut_out": Spec(),
    "anti_removal": Spec((_TEXT,)),
    "viesus_correct": Spec(),
    "vectorize": Spec((_TEXT,), variadic=True, check=_check_vectorize),
    "theme": Spec((_TEXT,), variadic=True, check=_check_theme),
    "dropshadow": Spec((_TEXT,), variadic=True),
    "extract": Spec((_TEXT,), variadic=True),
    "style_transfer": Spec((_TEXT,), variadic=True),
    # Model-backed effects (the add-ons issue): parsed, refused by the renderer.
    "background_removal": Spec((_TEXT,), variadic=True),
    "bgremoval": Spec((_TEXT,), variadic=True),
    "upscale": Spec(),
    "enhance": Spec((_TEXT,), variadic=True),
    "gen_remove": Spec((_TEXT,), variadic=True),
    "gen_replace": Spec((_TEXT,), variadic=True),
    "gen_recolor": Spec((_TEXT,), variadic=True),
    "gen_background_replace": Spec((_TEXT,), variadic=True),
    "gen_restore": Spec(),
    # Video effects, executed by the video part.
    "volume": Spec((_TEXT,)),
    "accelerate": Spec((_TEXT,)),
    "reverse": Spec(),
    "boomerang": Spec(),
    "loop": Spec((_TEXT,)),
    "fade": Spec((_TEXT,)),
    "deshake": Spec((_TEXT,)),
    "preview": Spec((_TEXT,), variadic=True),
    "transition": Spec((_TEXT,), variadic=True),
}

_FREE = re.compile(r"[A-Za-z0-9_.\-;!#$()]{1,200}")
_NUM = re.compile(r"-?\d{1,9}")


def _arg(key: str, name: str, spec: Arg, text: str) -> str:
    if VARIABLE_NAME.fullmatch(text):
        return text
    if spec.low is None or text in spec.words:
        if not _FREE.fullmatch(text):
            raise ParseError(f"Invalid effect parameter - {name}:{text}", param=key)
        return text
    if not _NUM.fullmatch(text) or not spec.low <= int(text) <= (spec.high if spec.high is not None else spec.low):
        raise ParseError(f"Invalid effect parameter - {name}:{text}", param=key)
    return str(int(text))


def parse_effect(key: str, text: str) -> Effect:
    """`sepia:60` → Effect("sepia", ("60",)), checked and with defaults dropped."""
    name, *raw_args = text.split(":")
    if VARIABLE_NAME.fullmatch(name):
        return Effect(name, tuple(_arg(key, name, _TEXT, arg) for arg in raw_args))
    spec = EFFECTS.get(name)
    if spec is None:
        raise ParseError(f"Invalid effect - {name}", param=key)
    if len(raw_args) > len(spec.args) and not spec.variadic:
        raise ParseError(f"Invalid effect parameter - {text}", param=key)
    args = [
        _arg(key, name, spec.args[i] if i < len(spec.args) else _TEXT, arg) for i, arg in enumerate(raw_args)
    ]
    if spec.check is not None and not any(VARIABLE_NAME.fullmatch(arg) for arg in args):
        try:
            spec.check(tuple(args))
        except (ValueError, ParseError):
            raise ParseError(f"Invalid effect parameter - {text}", param=key) from None
    while args and len(args) <= len(spec.args) and args[-1] == spec.args[len(args) - 1].default:
        args.pop()
    return Effect(name, tuple(args))


def format_effect(effect: Effect) -> str:
    return ":".join((effect.name,) + effect.args)


def argument(effect: Effect, index: int) -> str | None:
    """The argument at `index`, or the documented default when it was left out."""
    if index < len(effect.args):
        return effect.args[index]
    spec = EFFECTS.get(effect.name)
    if spec is None or index >= len(spec.args):
        return None
    return spec.args[index].default


def _invalid(effect: Effect, text: str | None) -> ParseError:
    return ParseError(f"Invalid effect parameter - {effect.name}:{text}", param="e")


def integer_argument(effect: Effect, index: int, fallback: int) -> int:
    """The argument (or its default) as an integer; `fallback` when there is neither."""
    text = argument(effect, index)
    try:
        return int(text) if text is not None else fallback
    except ValueError:
        raise _invalid(effect, text) from None


def bounded_argument(effect: Effect, index: int, low: int, high: int, *, signed: bool = False) -> int:
    """A free-text argument that must be a whole number in [low, high] (`-` only if `signed`)."""
    text = effect.args[index]
    digits = text[1:] if signed and text.startswith("-") else text
    if not digits.isdigit() or not low <= int(text) <= high:
        raise _invalid(effect, text)
    return int(text)


def _is_hex(text: str) -> bool:
    return len(text) in (3, 6) and all(c in "0123456789abcdefABCDEF" for c in text)


def color_argument(effect: Effect, index: int) -> tuple[int, int, int, int]:
    """A colour argument as RGBA: a name, `rgb:…`, or bare hex digits (`e_tint:50:ff0000`)."""
    text = effect.args[index]
    return rgba(parse_color("e", "rgb:" + text if _is_hex(text) else text))
