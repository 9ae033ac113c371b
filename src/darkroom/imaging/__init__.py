"""Pixels: probing uploads and rendering transformations with libvips.

    rendered = render(RenderRequest(path, parse("c_fill,w_300,h_200/e_sepia"), source_format="jpg",
                                    requested_format="webp", accept=request_accept_header))
    rendered.data, rendered.content_type, rendered.vary_accept

`render_image` runs a chain and stops before encoding, for callers that combine images.
`render` is synchronous and CPU-bound (libvips releases the GIL): run it in a worker thread.
"""

from darkroom.imaging.errors import InvalidImage, MissingLayer, TooManyPixels, TooSlow, UnsupportedTransformation
from darkroom.imaging.context import Rendered, RenderedImage, RenderLimits, RenderRequest
from darkroom.imaging.pipeline import render, render_image
from darkroom.imaging.probe import CONTENT_TYPES, MediaInfo, content_type_for, normalize_format, probe

__all__ = [
    "CONTENT_TYPES",
    "InvalidImage",
    "MediaInfo",
    "MissingLayer",
    "RenderLimits",
    "RenderRequest",
    "Rendered",
    "RenderedImage",
    "TooManyPixels",
    "TooSlow",
    "UnsupportedTransformation",
    "content_type_for",
    "normalize_format",
    "probe",
    "render",
    "render_image",
]
