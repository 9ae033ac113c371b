"""`w_auto:breakpoints[_<min>_<max>_<KB step>_<max images>]:json`: the picture's responsive
breakpoints as Cloudinary's JSON list, instead of a picture.

    GET …/c_scale,w_auto:breakpoints_100_1000_20_15:json/sample.jpg
    → {"breakpoints": [100, 371, 553, …, 1000]}          (widths in px, ascending)

The widths are chosen as for the upload option `responsive_breakpoints`
(`breakpoints.choose_breakpoints`), measuring the encoded size of the picture at each
candidate width: the chain before the `w_auto` component is applied first, and the format
is the one the URL asks for. Defaults are Cloudinary's: 50 to 1000 px, a step of 20 KB,
at most 20 images.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from darkroom.errors import Invalid
from darkroom.imaging.breakpoints import BreakpointSettings, choose_breakpoints
from darkroom.imaging.context import Rendered, RenderRequest
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.transform import AutoSize, Chain, Pixels

__all__ = ["breakpoint_request", "breakpoints_json"]

Render = Callable[[RenderRequest], Rendered]

_DEFAULTS = (50, 1000, 20, 20)  # min width, max width, bytes step in KB, max images


def breakpoint_request(chain: Chain) -> tuple[int, BreakpointSettings] | None:
    """(index of the `w_auto` component, its settings) when the chain asks for JSON breakpoints."""
    for index, component in enumerate(chain.components):
        width = component.width
        if isinstance(width, AutoSize) and width.args[:1] and width.args[0].startswith("breakpoints") and "json" in width.args[1:]:
            return index, _settings(width.args[0])
    return None


def _settings(text: str) -> BreakpointSettings:
    """`breakpoints` or `breakpoints_<min>_<max>_<KB>_<count>` (trailing values optional)."""
    given = text.split("_")[1:]
    if len(given) > len(_DEFAULTS) or not all(value.isdigit() for value in given):
        raise UnsupportedTransformation(f"Invalid width parameter - auto:{text}")
    min_width, max_width, kilobytes, max_images = [int(v) for v in given] + list(_DEFAULTS[len(given):])
    try:
        return BreakpointSettings(min_width=min_width, max_width=max_width, bytes_step=kilobytes * 1024, max_images=max_images)
    except Invalid as error:
        raise UnsupportedTransformation(f"Invalid width parameter - auto:{text}", detail=error.message) from None


def breakpoints_json(request: RenderRequest, index: int, settings: BreakpointSettings, render: Render) -> Rendered:
    """The JSON answer. `render` is `pipeline.render` (passed in: this module sits below it);
    each measurement renders the chain with the `w_auto` width replaced by a real one."""
    components = list(request.chain.components)
    auto = components[index]

    def with_width(width: int | None) -> RenderRequest:
        sized = replace(auto, width=Pixels(width) if width is not None else None, crop=auto.crop or "scale")
        return replace(request, chain=Chain(tuple(components[:index] + [sized] + components[index + 1 :])))

    full_width = render(with_width(None)).width
    widths = choose_breakpoints(settings, full_width, lambda width: len(render(with_width(width)).data))
    body = json.dumps({"breakpoints": sorted(set(widths))}, separators=(",", ":")).encode()
    return Rendered(data=body, format="json", content_type="application/json", width=full_width, height=0, vary_accept=False)
