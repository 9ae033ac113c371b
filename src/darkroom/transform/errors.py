"""The one error the transformation language raises.

    darkroom.errors.Invalid
    └── ParseError            a transformation string that cannot be understood

The message uses Cloudinary's wording and names the offending parameter, because the
delivery handler copies it verbatim into the `X-Cld-Error` header.
"""

from __future__ import annotations

from darkroom.errors import Invalid


class ParseError(Invalid):
    """A transformation component, parameter or value is unknown or malformed."""

    def __init__(self, message: str, *, param: str | None = None, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        # The URL key (`w`, `e`, …) or item that failed, for logs and tests.
        self.param = param
