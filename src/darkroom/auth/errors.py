"""Errors of the auth part.

    DarkroomError
    ├── Unauthorized ── InvalidSignature, StaleRequest, UnknownApiKey
    ├── BadRequest ── MissingParameter
    └── Forbidden ── PolicyRefused
"""

from __future__ import annotations

from darkroom.errors import BadRequest, Forbidden, Unauthorized


class InvalidSignature(Unauthorized):
    pass


class StaleRequest(Unauthorized):
    pass


class UnknownApiKey(Unauthorized):
    pass


class MissingParameter(BadRequest):
    pass


class PolicyRefused(Forbidden):
    pass


class MalformedTimestamp(PolicyRefused):
    """paramsToSign.timestamp is missing or no bounded Unix time: a malformed request (400),
    refused by the same check as the policy's other refusals."""

    status = 400
