"""Errors of the search language; all are client mistakes (Invalid) that say where they happened.

    Invalid (darkroom.errors)
    └── SearchError                   the expression or a search parameter cannot be used
        └── SearchSyntaxError         the text does not parse; carries the 0-based position
"""

from __future__ import annotations

from darkroom.errors import Invalid

__all__ = ["SearchError", "SearchSyntaxError"]


class SearchError(Invalid):
    """A search request darkroom cannot run, worded for the client."""


class SearchSyntaxError(SearchError):
    """The expression is malformed at `position` (0-based character offset)."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"Invalid search expression: {reason} at position {position}")
        self.reason = reason
        self.position = position
