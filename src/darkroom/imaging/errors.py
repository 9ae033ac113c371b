"""Errors the renderer raises for a user's request (never for its own bugs).

    darkroom.errors.Invalid
    ├── UnsupportedTransformation   a valid parameter darkroom cannot render (AI effects, …)
    ├── MissingLayer                l_/u_ names an image that does not exist
    └── darkroom.errors.TooLarge
        ├── TooManyPixels           source or output beyond RenderLimits
        └── TooSlow                 the render outlived RenderLimits.max_seconds
"""

from __future__ import annotations

from darkroom.errors import Invalid, TooLarge


class UnsupportedTransformation(Invalid):
    """The URL is well formed, but this server does not render that parameter."""


class MissingLayer(Invalid):
    """An overlay or underlay refers to an image that cannot be loaded."""


class TooManyPixels(TooLarge):
    """A decompression bomb, or a request for an absurdly large output."""


class InvalidImage(Invalid):
    """The stored bytes could not be decoded as an image."""


class TooSlow(TooLarge):
    """The transformation took longer than the server allows for one request."""
