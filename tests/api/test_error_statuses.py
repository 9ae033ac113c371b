"""The one table from domain errors to Cloudinary's statuses: each part's errors answer through their base."""

from __future__ import annotations

import pytest

from darkroom import errors
from darkroom.api.admin_http import RateLimitExceeded
from darkroom.api.errors import RateLimited, status_for
from darkroom.auth import InvalidSignature, PolicyRefused
from darkroom.catalog import AssetExists, AssetNotFound
from darkroom.catalog.search import SearchSyntaxError
from darkroom.imaging import TooManyPixels, UnsupportedTransformation
from darkroom.storage import BlobNotFound, StorageError
from darkroom.transform import ParseError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ParseError("Invalid width parameter - x"), 400),
        (SearchSyntaxError("unexpected end", 3), 400),
        (UnsupportedTransformation("e_gen_remove is not supported"), 400),
        (TooManyPixels("Image is too large"), 400),  # Cloudinary answers limits with 400, not 413
        (InvalidSignature("Invalid Signature"), 401),
        (PolicyRefused("folder not allowed"), 403),
        (AssetNotFound("Resource not found - x"), 404),
        (BlobNotFound("Resource not found"), 404),
        (errors.TimedOut("Request body stalled"), 408),
        (AssetExists("Resource already exists - x"), 409),
        (StorageError("Storage failed"), 500),  # nothing says more than "it broke"
    ],
)
def test_each_error_answers_with_its_bases_status(error: errors.DarkroomError, status: int) -> None:
    assert status_for(error) == status


def test_rate_limits_answer_420_as_cloudinary_does() -> None:
    assert issubclass(RateLimitExceeded, RateLimited)
    assert status_for(RateLimited("Rate Limit Exceeded")) == 420


def test_domain_errors_carry_no_http_status() -> None:
    for name in errors.__all__:
        assert not hasattr(getattr(errors, name), "status"), name


def test_the_console_answers_a_stalled_body_with_408_too() -> None:
    """The console maps domain errors itself (it may not import api): a stall is no 500 there."""
    from darkroom.console.pages import _status_for as console_status

    assert console_status(errors.TimedOut("Request body stalled")) == 408
    assert console_status(errors.Conflict("exists")) == status_for(errors.Conflict("exists"))
