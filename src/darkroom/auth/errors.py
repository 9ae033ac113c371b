"""Errors of the auth part.

    DarkroomError
    ├── NotAuthenticated ── InvalidSignature, StaleRequest, UnknownApiKey
    ├── Invalid ── MissingParameter
    └── Forbidden ── PolicyRefused
"""

from __future__ import annotations

from darkroom.errors import Forbidden, Invalid, NotAuthenticated


class InvalidSignature(NotAuthenticated):
    pass


class StaleRequest(NotAuthenticated):
    pass


class UnknownApiKey(NotAuthenticated):
    pass


class MissingParameter(Invalid):
    pass


class PolicyRefused(Forbidden):
    pass


class MalformedTimestamp(Invalid, PolicyRefused):
    """paramsToSign.timestamp is missing or no bounded Unix time: malformed input (so Invalid
    comes first), refused by the same check as the policy's other refusals."""
