"""Rate limits: reported always, enforced per API key when a cloud sets one (420 with Cloudinary's headers)."""

from __future__ import annotations

import cloudinary.api
import httpx
import pytest
from cloudinary.exceptions import RateLimited
from cloudinary.search import Search

from darkroom import catalog
from darkroom.catalog.cloud_settings import set_cloud_setting
from tests.admin.conftest import AdminCloud


def _ping(cloud: AdminCloud, key: str, secret: str) -> httpx.Response:
    return httpx.get(f"{cloud.server.base_url}/v1_1/{cloud.server.cloud}/ping", auth=(key, secret))


def test_without_a_limit_calls_are_counted_but_never_refused(cloud: AdminCloud) -> None:
    first, second = (_ping(cloud, cloud.server.api_key, cloud.server.api_secret) for _ in range(2))
    assert first.headers["X-FeatureRateLimit-Limit"] == "5000"
    assert int(second.headers["X-FeatureRateLimit-Remaining"]) == int(first.headers["X-FeatureRateLimit-Remaining"]) - 1


def test_a_tiny_limit_refuses_the_next_call_with_420_and_quota_headers(cloud: AdminCloud) -> None:
    set_cloud_setting(cloud.engine, cloud.server.cloud, "rate_limit", {"limit": 3, "window_seconds": 3600})
    remaining = [int(_ping(cloud, cloud.server.api_key, cloud.server.api_secret).headers["X-FeatureRateLimit-Remaining"])
                 for _ in range(3)]
    assert remaining == [2, 1, 0]
    refused = _ping(cloud, cloud.server.api_key, cloud.server.api_secret)
    assert refused.status_code == 420 and refused.json() == {"error": {"message": "Rate Limit Exceeded"}}
    assert refused.headers["X-FeatureRateLimit-Limit"] == "3" and refused.headers["X-FeatureRateLimit-Remaining"] == "0"
    assert "GMT" in refused.headers["X-FeatureRateLimit-Reset"] and 0 < int(refused.headers["Retry-After"]) <= 3600
    with pytest.raises(RateLimited, match="Rate Limit Exceeded"):
        cloudinary.api.resources()
    with pytest.raises(RateLimited):
        Search().expression("*").execute()


def test_limits_count_each_api_key_on_its_own(cloud: AdminCloud) -> None:
    set_cloud_setting(cloud.engine, cloud.server.cloud, "rate_limit", {"limit": 1, "window_seconds": 3600})
    other = catalog.create_key(cloud.engine, cloud.server.cloud, label="second")
    assert _ping(cloud, cloud.server.api_key, cloud.server.api_secret).status_code == 200
    assert _ping(cloud, cloud.server.api_key, cloud.server.api_secret).status_code == 420
    assert _ping(cloud, other.api_key, other.api_secret).status_code == 200


def test_bad_credentials_are_401_before_any_counting(cloud: AdminCloud) -> None:
    set_cloud_setting(cloud.engine, cloud.server.cloud, "rate_limit", {"limit": 1, "window_seconds": 3600})
    for _ in range(3):
        assert _ping(cloud, cloud.server.api_key, "wrong").status_code == 401
    assert _ping(cloud, cloud.server.api_key, cloud.server.api_secret).status_code == 200
