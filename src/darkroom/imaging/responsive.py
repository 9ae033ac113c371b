"""`w_auto:breakpoints[_<min>_<max>_<KB step>_<max images>]`: responsive breakpoints in a URL.

With `:json`, the picture's breakpoints as Cloudinary's JSON list, instead of a picture:

    GET …/c_scale,w_auto:breakpoints_100_1000_20_15:json/sample.jpg
    → {"breakpoints": [100, 371, 553, …, 1000]}          (widths in px, ascending)

Without it, the picture at the smallest breakpoint at least as wide as the client's
`Width` hint (the largest when none is): a few widths serve every client, so CDNs cache
a few files. The widths of a stored asset's version are remembered per process.

The widths are chosen as for the upload option `responsive_breakpoints`
(`breakpoints.choose_breakpoints`), measuring the encoded size of the picture at each
candidate width: the chain before the `w_auto` component is applied first, and the format
is the one the URL asks for. Defaults are Cloudinary's: 50 to 1000 px, a step of 20 KB,
at most 20 images.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from darkroom.errors import Invalid
from darkroom.imaging.breakpoints import BreakpointSettings, choose_breakpoints
from darkroom.imaging.context import Rendered, RenderRequest
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.transform import AutoSize, Chain, Pixels

__all__ = ["at_breakpoint", "breakpoint_request", "breakpoints_json"]

Render = Callable[[RenderRequest], Rendered]

_DEFAULTS = (50, 1000, 20, 20)  # min width, max width, bytes step in KB, max images
REMEMBERED = 512  # breakpoint lists kept per process (a few ints each)
_widths_of: OrderedDict[tuple[str, ...], list[int]] = OrderedDict()
_lock = threading.Lock()


def breakpoint_request(chain: Chain, *, as_json: bool = True) -> tuple[int, BreakpointSettings] | None:
    """(index of the `w_auto:breakpoints…` component, its settings) when the chain has one,
    with `:json` (`as_json`) or without."""
    for index, component in enumerate(chain.components):
        width = component.width
        if isinstance(width, AutoSize) and width.args[:1] and width.args[0].startswith("breakpoints"):
            if ("json" in width.args[1:]) == as_json:
                return index, _settings(width.args[0])
    return None


def _settings(text: str) -> BreakpointSettings:
    """`breakpoints` or `breakpoints_<min>_<max>_<KB>_<count>` (trailing values optional)."""
    given = text.split("_")[1:]
    # ASCII digits, at most 6 of them: int() of thousands of digits (or of `²`) is a ValueError.
    if len(given) > len(_DEFAULTS) or not all(value.isascii() and value.isdigit() and len(value) <= 6 for value in given):
        raise UnsupportedTransformation(f"Invalid width parameter - auto:{text}")
    min_width, max_width, kilobytes, max_images = [int(v) for v in given] + list(_DEFAULTS[len(given):])
    try:
        return BreakpointSettings(min_width=min_width, max_width=max_width, bytes_step=kilobytes * 1024, max_images=max_images)
    except Invalid as error:
        raise UnsupportedTransformation(f"Invalid width parameter - auto:{text}", detail=error.message) from None


def _with_width(request: RenderRequest, index: int, width: int | None) -> RenderRequest:
    """The request with the `w_auto` component's width replaced (None: the full width)."""
    components = list(request.chain.components)
    auto = components[index]
    sized = replace(auto, width=Pixels(width) if width is not None else None, crop=auto.crop or "scale")
    return replace(request, chain=Chain(tuple(components[:index] + [sized] + components[index + 1 :])))


def _breakpoints(request: RenderRequest, index: int, settings: BreakpointSettings, render: Render) -> tuple[int, list[int]]:
    """(the full width, the breakpoints ascending), measuring the encoded size at each candidate."""
    full_width = render(_with_width(request, index, None)).width
    widths = choose_breakpoints(settings, full_width, lambda width: len(render(_with_width(request, index, width)).data))
    return full_width, sorted(set(widths))


def breakpoints_json(request: RenderRequest, index: int, settings: BreakpointSettings, render: Render) -> Rendered:
    """The JSON answer. `render` is `pipeline.render` (passed in: this module sits below it)."""
    full_width, widths = _breakpoints(request, index, settings, render)
    body = json.dumps({"breakpoints": widths}, separators=(",", ":")).encode()
    return Rendered(data=body, format="json", content_type="application/json", width=full_width, height=0, vary_accept=False)


def at_breakpoint(request: RenderRequest, index: int, settings: BreakpointSettings, render: Render) -> RenderRequest:
    """The request sized to the breakpoint that serves the client's width; unchanged without
    a `Width` hint (as plain `w_auto`: the picture keeps its size)."""
    if request.client_width is None:
        return request
    key = (request.source_key, request.chain.canonical(), request.requested_format or "", request.source_format) if request.source_key else None
    with _lock:
        widths = _widths_of.get(key) if key is not None else None
    if widths is None:
        widths = _breakpoints(request, index, settings, render)[1]
        if key is not None:
            with _lock:
                _widths_of[key] = widths
                while len(_widths_of) > REMEMBERED:
                    _widths_of.popitem(last=False)
    chosen = next((width for width in widths if width >= request.client_width), widths[-1])
    return _with_width(request, index, chosen)
