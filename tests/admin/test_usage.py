"""`usage()` through the official SDK: what a cloud holds, and what it delivered and generated."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
from cloudinary.exceptions import BadRequest

from tests.admin.conftest import AdminCloud


def usage_when(ready: object, **options: object) -> dict:
    """usage() once `ready(report)` holds: deliveries reach the database with each process's next flush."""
    deadline = time.monotonic() + 15
    while True:
        report = cloudinary.api.usage(**options)
        if ready(report) or time.monotonic() > deadline:  # type: ignore[operator]
            return report
        time.sleep(0.1)


def test_usage_counts_delivery_requests_and_bandwidth(cloud: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="usage/one")
    assert cloudinary.api.usage()["requests"] == 0
    urls = [
        cloudinary.utils.cloudinary_url("usage/one", width=20, crop="scale", format="png")[0],
        cloudinary.utils.cloudinary_url("usage/one", width=20, crop="scale", format="png")[0],  # a cached hit
        cloudinary.utils.cloudinary_url("usage/one", format="png")[0],  # the original
    ]
    delivered = [httpx.get(url) for url in urls]
    assert all(response.status_code == 200 for response in delivered)
    httpx.get(cloudinary.utils.cloudinary_url("usage/missing", format="png")[0])  # a 404 is no delivery

    report = usage_when(lambda r: r["requests"] >= 3 and r["derived_resources"] >= 1)
    assert report["requests"] == 3
    assert report["bandwidth"]["usage"] == sum(len(response.content) for response in delivered)
    assert report["transformations"]["usage"] == 1  # one derived asset generated
    assert report["derived_resources"] == 1
    assert report["resources"] == 1 and report["objects"]["usage"] == 1
    assert report["storage"]["usage"] >= png.stat().st_size + len(delivered[0].content)


def test_usage_of_a_day_counts_that_day_only(cloud: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="usage/day")
    assert httpx.get(cloudinary.utils.cloudinary_url("usage/day", format="png")[0]).status_code == 200
    today = datetime.now(UTC).date()
    report = usage_when(lambda r: r["requests"] >= 1, date=today)
    assert report["requests"] == 1 and report["date_requested"] == today.isoformat()
    assert usage_when(lambda r: r["requests"] >= 1, date=today.isoformat())["requests"] == 1  # yyyy-mm-dd as a string
    yesterday = cloudinary.api.usage(date=today - timedelta(days=1))
    assert yesterday["requests"] == 0 and yesterday["bandwidth"]["usage"] == 0
    assert yesterday["resources"] == 1  # what the cloud holds is reported as of now


def test_usage_refuses_a_date_it_cannot_read(cloud: AdminCloud) -> None:
    with pytest.raises(BadRequest, match="Invalid date"):
        cloudinary.api.usage(date="last tuesday")


def test_usage_is_per_cloud(cloud: AdminCloud, png: Path) -> None:
    assert isinstance(date.today(), date)
    report = cloudinary.api.usage()
    assert (report["requests"], report["bandwidth"]["usage"], report["resources"]) == (0, 0, 0)
