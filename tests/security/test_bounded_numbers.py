"""No unbounded number in a signed parameter: each is refused with a clear 400 (never a 500,
never a value that keeps a signature alive for ever), whatever its length or spelling."""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import TIMEOUT, Attacker, assert_refused, unique

HUGE = "9" * 5000  # past Python's own limit on converting digits to an int
LONG = "9" * 400


@pytest.mark.parametrize("expires_at", [HUGE, LONG, "²", "1_700_000_000", "-5"])
def test_archive_expires_at_must_be_unix_seconds(attacker: Attacker, expires_at: str) -> None:
    form = attacker.signed(tags="nothing", expires_at=expires_at, mode="download")
    response = httpx.post(f"{attacker.server.base_url}/v1_1/{attacker.server.cloud}/image/generate_archive", data=form, timeout=TIMEOUT)
    assert "expires_at" in assert_refused(response, 400)


@pytest.mark.parametrize("digits", [HUGE, LONG, "1" * 13])
def test_a_delivery_version_longer_than_unix_seconds_is_refused(attacker: Attacker, digits: str) -> None:
    response = attacker.get(f"/{attacker.server.cloud}/image/upload/v{digits}/{unique('nothing')}.png")
    assert "version" in assert_refused(response, 400)


@pytest.mark.parametrize("content_range", [f"bytes 0-{HUGE}/-1", f"bytes {LONG}-{LONG}/{LONG}", "bytes 0-99999999999999999999/-1"])
def test_content_range_numbers_are_bounded(attacker: Attacker, content_range: str) -> None:
    form = attacker.signed(public_id=unique("chunked"))
    response = httpx.post(
        attacker.upload_url, data=form, files={"file": ("blob", b"x", "application/octet-stream")},
        headers={"Content-Range": content_range, "X-Unique-Upload-Id": unique("u")}, timeout=TIMEOUT,
    )
    message = assert_refused(response, 400)
    assert HUGE not in message and LONG not in message  # the message quotes a bounded excerpt


@pytest.mark.parametrize("max_results", [HUGE, LONG, "0", "-1", "1e3"])
def test_max_results_is_bounded(attacker: Attacker, max_results: str) -> None:
    response = attacker.get(
        f"/v1_1/{attacker.server.cloud}/resources/image", params={"max_results": max_results},
        auth=(attacker.server.api_key, attacker.server.api_secret),
    )
    assert "max_results" in assert_refused(response, 400)
    assert HUGE not in response.text and LONG not in response.text


def test_max_results_infinity_in_a_search_body_is_a_400(attacker: Attacker) -> None:
    response = httpx.post(
        f"{attacker.server.base_url}/v1_1/{attacker.server.cloud}/resources/search", content=b'{"max_results": Infinity}',
        headers={"Content-Type": "application/json"}, auth=(attacker.server.api_key, attacker.server.api_secret), timeout=TIMEOUT,
    )
    assert_refused(response, 400)
