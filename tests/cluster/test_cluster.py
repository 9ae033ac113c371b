"""Three darkroom servers on PostgreSQL, S3 and Redis behave as one: any node answers any
request, a write on one is seen by all at once, a burst of one new URL renders once, and a
node dying loses nothing it acknowledged. The node-killing test runs last (it ends a node).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import re
import secrets
import time
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import httpx
import pytest
from cloudinary import CloudinaryImage

from darkroom import catalog
from darkroom.catalog.cloud_settings import set_cloud_setting
from darkroom.media import sessions
from tests.cluster.cluster import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "difference-engine-1822"


def delivery_url(cluster: Cluster, node: int, public_id: str, **options: object) -> str:
    host = cluster.nodes[node].host
    return str(CloudinaryImage(public_id).build_url(cloud_name=cluster.cloud, cname=host, secure=False, **options))


def test_an_upload_on_one_node_is_delivered_listed_and_found_by_the_others(sdk: Cluster, photo: Path) -> None:
    tag = f"t{secrets.token_hex(4)}"
    uploaded = cloudinary.uploader.upload(str(photo), public_id=f"spread/{tag}", tags=[tag], **sdk.options(0))
    original = photo.read_bytes()
    for node in (1, 2):
        answer = httpx.get(delivery_url(sdk, node, uploaded["public_id"], version=uploaded["version"], format="jpg"), timeout=30)
        assert answer.status_code == 200 and answer.content == original
    listed = cloudinary.api.resources_by_tag(tag, **sdk.options(1))
    assert [item["public_id"] for item in listed["resources"]] == [uploaded["public_id"]]
    found = cloudinary.Search().expression(f"tags={tag}").execute(**sdk.options(2))
    assert found["total_count"] == 1


def test_pages_of_one_listing_may_come_from_different_nodes(sdk: Cluster, photo: Path) -> None:
    prefix = f"pages{secrets.token_hex(3)}/"
    for n in range(4):
        cloudinary.uploader.upload(str(photo), public_id=f"{prefix}{n}", **sdk.options(n % 3))
    seen: list[str] = []
    cursor = None
    for page in range(4):
        options = {"next_cursor": cursor} if cursor else {}
        listed = cloudinary.api.resources(type="upload", prefix=prefix, max_results=1, **options, **sdk.options(page % 3))
        seen += [item["public_id"] for item in listed["resources"]]
        cursor = listed.get("next_cursor")
    assert sorted(seen) == [f"{prefix}{n}" for n in range(4)]


def test_upload_large_chunks_sent_to_different_nodes_make_one_asset(sdk: Cluster) -> None:
    payload = secrets.token_bytes(3 * 1024 * 1024 + 12345)
    chunk = 1024 * 1024
    upload_id = secrets.token_hex(12)
    public_id = f"chunks/{upload_id}"
    result: dict[str, object] = {}
    for index, start in enumerate(range(0, len(payload), chunk)):
        end = min(start + chunk, len(payload)) - 1
        headers = {"Content-Range": f"bytes {start}-{end}/{len(payload)}", "X-Unique-Upload-Id": upload_id}
        result = cloudinary.uploader.upload_large_part(
            ("data.bin", payload[start : end + 1]), resource_type="raw", public_id=public_id, http_headers=headers, **sdk.options(index % 3)
        )
    assert result["bytes"] == len(payload)
    served = httpx.get(sdk.url(1, f"/{sdk.cloud}/raw/upload/{public_id}"), timeout=30).content
    assert hashlib.sha256(served).hexdigest() == hashlib.sha256(payload).hexdigest()


def test_a_console_session_started_on_one_node_works_on_the_others(sdk: Cluster) -> None:
    console = _signed_in(sdk, node=0)
    for node in (1, 2):
        page = console.get(sdk.url(node, "/console"))
        assert page.status_code == 200 and 'name="csrf-token"' in page.text


def test_revoking_a_key_on_one_node_refuses_its_signed_urls_on_another_at_once(sdk: Cluster, photo: Path) -> None:
    engine = catalog.create_engine_for(sdk.env["DARKROOM_DATABASE_URL"])
    try:
        key = catalog.create_key(engine, sdk.cloud, "to revoke")
    finally:
        engine.dispose()
    uploaded = cloudinary.uploader.upload(str(photo), type="authenticated", **sdk.options(1))
    signed = delivery_url(
        sdk, 2, uploaded["public_id"], type="authenticated", sign_url=True, api_key=key.api_key, api_secret=key.api_secret,
        transformation=[{"width": 40, "crop": "scale"}], format="jpg",
    )
    console = _signed_in(sdk, node=0)
    csrf = _csrf(console, sdk, 0)
    for _ in range(3):  # warm: node C now remembers the key, the asset and the whole answer (for a second)
        assert httpx.get(signed, timeout=30).status_code == 200
    revoked = console.post(sdk.url(0, "/console/keys"), data={"action": "revoke", "api_key": key.api_key, "csrf_token": csrf})
    assert revoked.status_code == 200 and "Key revoked." in revoked.text
    refused = httpx.get(signed, timeout=30)  # at once: well within the one-second lookup TTL
    assert refused.status_code == 401


def test_a_burst_of_one_new_url_across_nodes_renders_it_once(sdk: Cluster, photo: Path) -> None:
    uploaded = cloudinary.uploader.upload(str(photo), **sdk.options(0))
    transformation = [{"width": 97, "height": 61, "crop": "fill", "effect": "sepia"}]
    urls = [delivery_url(sdk, n % 3, uploaded["public_id"], version=uploaded["version"], transformation=transformation, format="png") for n in range(20)]
    before = sdk.renders()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda url: httpx.get(url, timeout=90), urls))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
    assert sdk.renders() - before == 1


def test_a_job_enqueued_by_one_node_is_run_by_a_worker(sdk: Cluster, photo: Path) -> None:
    before = sdk.renders()
    uploaded = cloudinary.uploader.upload(str(photo), eager=[{"width": 33, "crop": "scale"}], eager_async=True, **sdk.options(0))
    assert uploaded["eager"][0]["status"] == "pending"  # answered before the render, which is a job
    deadline = time.monotonic() + 60
    derived: list[dict[str, object]] = []
    while time.monotonic() < deadline and not derived:
        derived = cloudinary.api.resource(uploaded["public_id"], **sdk.options(2)).get("derived", [])
        time.sleep(0.2)
    assert [item["transformation"] for item in derived] == ["w_33"]  # recorded in canonical form (c_scale is the default)
    assert all(worker.poll() is None for worker in sdk.workers)
    assert sdk.renders() == before  # no server rendered it: a worker did


def test_admin_rate_limits_count_every_nodes_calls(sdk: Cluster) -> None:
    engine = catalog.create_engine_for(sdk.env["DARKROOM_DATABASE_URL"])
    try:
        key = catalog.create_key(engine, sdk.cloud, "rate-limited")  # its calls are counted from zero
        set_cloud_setting(engine, sdk.cloud, "rate_limit", {"limit": 4, "window_seconds": 3600})
        time.sleep(2.1)  # each node reads the setting anew after its 2-second memory of it
        statuses = []
        for node in range(6):
            try:
                cloudinary.api.ping(api_key=key.api_key, api_secret=key.api_secret, **sdk.options(node % 3))
                statuses.append(200)
            except cloudinary.exceptions.Error as refused:
                statuses.append(420 if "Rate Limit" in str(refused) else 0)
        assert statuses[:4] == [200] * 4 and statuses[4:] == [420, 420]
    finally:
        set_cloud_setting(engine, sdk.cloud, "rate_limit", None)
        engine.dispose()
        time.sleep(2.1)


def test_a_node_killed_mid_load_loses_no_acknowledged_upload(sdk: Cluster, photo: Path) -> None:
    prefix = f"load{secrets.token_hex(3)}"
    acknowledged: list[dict[str, object]] = []
    failed: list[int] = []  # uploads that got no answer, by number (sent to node n % 3)

    def upload(n: int) -> dict[str, object] | None:
        try:
            return dict(cloudinary.uploader.upload(str(photo), public_id=f"{prefix}/{n}", **sdk.options(n % 3)))
        except Exception:
            return None

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(upload, n) for n in range(36)]
        time.sleep(0.5)
        sdk.kill(2)
        for n, future in enumerate(futures):
            result = future.result(timeout=120)
            if result is None:
                failed.append(n)
            else:
                acknowledged.append(result)
    assert acknowledged, "no upload was acknowledged"
    assert [n for n in failed if n % 3 != 2] == []  # only the killed node's uploads may go unanswered
    listed = cloudinary.api.resources(type="upload", prefix=f"{prefix}/", max_results=100, **sdk.options(0))
    assert {item["public_id"] for item in listed["resources"]} >= {item["public_id"] for item in acknowledged}
    original = photo.read_bytes()
    for item in acknowledged:
        node = 1 if int(str(item["public_id"]).rsplit("/", 1)[1]) % 2 else 0
        answer = httpx.get(delivery_url(sdk, node, str(item["public_id"]), version=item["version"], format="jpg"), timeout=30)
        assert answer.content == original
    assert cloudinary.api.ping(**sdk.options(1))["status"] == "ok"


def _signed_in(cluster: Cluster, node: int) -> httpx.Client:
    """A console session (cookies shared by every node: same host, other ports) started on `node`."""
    engine = catalog.create_engine_for(cluster.env["DARKROOM_DATABASE_URL"])
    user = f"op{secrets.token_hex(3)}"
    try:
        sessions.create_user(engine, user, PASSWORD)
    finally:
        engine.dispose()
    client = httpx.Client(timeout=30, follow_redirects=True)
    page = client.get(cluster.url(node, "/console/login")).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    signed = client.post(cluster.url(node, "/console/login"), data={"username": user, "password": PASSWORD, "csrf_token": match.group(1), "next": "/console"})
    assert signed.status_code == 200, signed.text
    return client


def _csrf(client: httpx.Client, cluster: Cluster, node: int) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get(cluster.url(node, "/console")).text)
    assert match
    return match.group(1)
