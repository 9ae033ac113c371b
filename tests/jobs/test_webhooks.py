"""Webhooks: Cloudinary's notifications, signed as the SDK's verify_notification_signature checks."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import cloudinary
import cloudinary.api
import cloudinary.uploader
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from .conftest import Receiver, assert_signed, consume_until
from support import LiveServer, access_token

from darkroom.auth.signing import notification_signature
from darkroom.catalog import jobs as journal
from darkroom.config import Settings, parse_cloudinary_url
from darkroom.media.notifications import notify
from darkroom.media.services import build_services


def _path() -> str:
    return f"/hook/{secrets.token_hex(4)}"


def test_upload_notification_is_signed_as_the_sdk_verifies(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = _path()
    reply = cloudinary.uploader.upload(str(sample_png), public_id=f"hooked-{secrets.token_hex(3)}", notification_url=receiver.url(path))
    (delivery,) = receiver.wait_for(path)
    assert_signed(delivery)
    # Stamped when sent: fresh enough for the SDK's check of the timestamp window too.
    assert cloudinary.utils.verify_notification_signature(delivery.body, delivery.headers["x-cld-timestamp"], delivery.headers["x-cld-signature"], valid_for=120)
    body = delivery.json
    assert body["notification_type"] == "upload"
    assert body["public_id"] == reply["public_id"] and body["version"] == reply["version"]
    assert body["asset_id"] == reply["asset_id"] and body["secure_url"] == reply["secure_url"]
    assert body["signature_key"] == sdk.api_key


def test_a_refused_delivery_is_retried_until_the_receiver_accepts(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = _path()
    receiver.failures[path] = 2
    cloudinary.uploader.upload(str(sample_png), notification_url=receiver.url(path))
    (delivery,) = receiver.wait_for(path)
    assert receiver.attempts[path] == 3
    assert_signed(delivery)  # signed afresh at each attempt


def test_destroy_and_rename_notify(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = _path()
    public_id = f"events-{secrets.token_hex(3)}"
    uploaded = cloudinary.uploader.upload(str(sample_png), public_id=public_id)
    cloudinary.uploader.rename(public_id, f"{public_id}-b", notification_url=receiver.url(path))
    (rename,) = receiver.wait_for(path, 1)
    assert rename.json["notification_type"] == "rename"
    assert (rename.json["from_public_id"], rename.json["to_public_id"]) == (public_id, f"{public_id}-b")
    cloudinary.uploader.destroy(f"{public_id}-b", notification_url=receiver.url(path))
    delete = receiver.wait_for(path, 2)[1]
    assert delete.json["notification_type"] == "delete"
    assert delete.json["resources"][0]["asset_id"] == uploaded["asset_id"]
    for delivery in receiver.wait_for(path, 2):
        assert_signed(delivery)


def test_tags_and_context_notify_the_clouds_url_never_an_unsigned_one(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    """The SDK leaves `notification_url` out of the signature on tags and context calls, so a
    replayed call could name any receiver: those notifications go to the cloud's URL only."""
    cloud_path, call_path = _path(), _path()
    public_id = f"events-{secrets.token_hex(3)}"
    cloudinary.uploader.upload(str(sample_png), public_id=public_id)
    with _cloud_notification_url(sdk, receiver.url(cloud_path)):
        cloudinary.uploader.add_tag("blue", [public_id], notification_url=receiver.url(call_path))
        (tags,) = receiver.wait_for(cloud_path)
        assert tags.json["notification_type"] == "resource_tags_changed"
        assert tags.json["resources"][0]["public_id"] == public_id and tags.json["resources"][0]["added"] == ["blue"]
        cloudinary.uploader.add_context({"alt": "a cat"}, [public_id], notification_url=receiver.url(call_path))
        context = receiver.wait_for(cloud_path, 2)[1]
        assert context.json["notification_type"] == "resource_context_changed"
        assert context.json["resources"][public_id]["added"] == {"alt": "a cat"}
        for delivery in receiver.wait_for(cloud_path, 2):
            assert_signed(delivery)
    assert receiver.attempts.get(call_path, 0) == 0


@contextlib.contextmanager
def _cloud_notification_url(server: LiveServer, url: str) -> Iterator[None]:
    """The cloud's own notification URL set (`darkroom clouds set`) for the block."""
    cli = [sys.executable, "-m", "darkroom", "clouds", "set", server.cloud, "--data-dir", str(server.data_dir)]
    env = {**os.environ, "DARKROOM_DATABASE_URL": server.database_url}
    subprocess.run([*cli, "--notification-url", url], env=env, check=True, capture_output=True, timeout=60)
    try:
        yield
    finally:
        subprocess.run([*cli, "--notification-url", ""], env=env, check=True, capture_output=True, timeout=60)


def test_an_upload_preset_notification_url_is_used(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = _path()
    name = f"hooks-{secrets.token_hex(3)}"
    cloudinary.api.create_upload_preset(name=name, unsigned=True, notification_url=receiver.url(path))
    reply = cloudinary.uploader.unsigned_upload(str(sample_png), name)
    (delivery,) = receiver.wait_for(path)
    assert delivery.json["public_id"] == reply["public_id"]
    assert_signed(delivery)


def test_the_cloud_notification_url_serves_calls_that_name_none(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = _path()
    with _cloud_notification_url(sdk, receiver.url(path)):
        reply = cloudinary.uploader.upload(str(sample_png))
        (delivery,) = receiver.wait_for(path)
        assert delivery.json["public_id"] == reply["public_id"]


def test_uploads_and_deletes_through_the_cms_media_store_notify_the_cloud(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    """TinaCMS's media store is another way in: the cloud's notification URL hears of it too."""
    path = _path()
    store = f"{sdk.base_url}/api/cloudinary/media"
    bearer = {"Authorization": f"Bearer {access_token(sdk, 'media', 'webhooks')}"}
    with _cloud_notification_url(sdk, receiver.url(path)):
        uploaded = httpx.post(store, headers=bearer, files={"file": ("cms-cat.png", sample_png.read_bytes(), "image/png")}, data={"directory": "cms"})
        assert uploaded.status_code == 200, uploaded.text
        public_id = uploaded.json()["public_id"]
        assert httpx.delete(f"{store}/{public_id}", headers=bearer).status_code == 200
        delete, upload = sorted(receiver.wait_for(path, 2), key=lambda delivery: delivery.json["notification_type"])  # sent by two jobs: either may land first
    assert upload.json["notification_type"] == "upload" and upload.json["public_id"] == public_id
    assert delete.json["notification_type"] == "delete" and delete.json["resources"][0]["public_id"] == public_id
    for delivery in (upload, delete):
        assert_signed(delivery)


def test_metrics_count_jobs_by_state(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = _path()
    cloudinary.uploader.upload(str(sample_png), notification_url=receiver.url(path))
    receiver.wait_for(path)
    families = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{sdk.base_url}/metrics").text)}
    by_state = {sample.labels["state"]: sample.value for sample in families["darkroom_jobs"].samples}
    assert set(by_state) == {"queued", "running", "done", "failed"} and by_state["done"] >= 1


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_sdk_verifies_the_signature_too(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = _path()
    cloudinary.uploader.upload(str(sample_png), notification_url=receiver.url(path))
    (delivery,) = receiver.wait_for(path)
    node_dir = Path(__file__).parents[1] / "node"
    if not (node_dir / "node_modules" / "cloudinary").is_dir():
        pytest.fail("the Node SDK is not installed: run `npm install` in tests/node")
    sent = {"body": delivery.body, "timestamp": delivery.headers["x-cld-timestamp"], "signature": delivery.headers["x-cld-signature"]}
    for signature, valid in ((sent["signature"], True), ("0" * 40, False)):
        checked = subprocess.run(
            ["node", "verify_notification.mjs"], input=json.dumps({**sent, "signature": signature}), cwd=node_dir,
            env=sdk.env(), capture_output=True, text=True, timeout=60, check=True,
        )
        assert json.loads(checked.stdout) == {"valid": valid}


def test_a_webhook_to_a_private_address_is_refused_unless_allowed(tmp_path: Path, receiver: Receiver) -> None:
    path = _path()
    settings = Settings(
        data_dir=tmp_path, cloudinary_url=parse_cloudinary_url("cloudinary://1234:abcd@ssrf"), job_retry_seconds=0.1, job_max_attempts=2
    )
    services = build_services(settings)  # no DARKROOM_FETCH_ALLOW: 127.0.0.1 is off limits
    job_id = anyio.run(notify, services, "ssrf", receiver.url(path), {"notification_type": "upload"})
    consume_until(services, lambda: journal.get_job(services.engine, job_id).state == "failed")  # type: ignore[union-attr]
    record = journal.get_job(services.engine, job_id)
    assert record is not None and "non-public address" in record.last_error
    assert receiver.attempts.get(path) is None
    services.engine.dispose()


def test_the_signature_matches_the_reference_worked_example() -> None:
    body = (
        b'{"notification_type":"eager","public_id":"dog","resource_type":"video","type":"upload",'
        b'"eager":[{"transformation":"sp_hd/m3u8","status":"complete"}]}'
    )
    assert notification_signature(body, 1315060510, "abcd") == "4d3ffa1ea31fe2f1503846d4e6fdb007d05b1929"
    assert notification_signature(body, 1315060510, "abcd", algorithm="sha256") == (
        "7cfd8e967179f03bdae02ff189b7c22a3391909e6a8e56d983faa6d1c2f584c2"
    )


def test_admin_api_deletes_notify(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = _path()
    public_id = f"admin-del-{secrets.token_hex(3)}"
    cloudinary.uploader.upload(str(sample_png), public_id=public_id)
    cloudinary.api.delete_resources([public_id, "no-such-asset"], notification_url=receiver.url(path))
    (delivery,) = receiver.wait_for(path)
    assert delivery.json["notification_type"] == "delete"
    assert delivery.json["resources"] == [{"resource_type": "image", "type": "upload", "public_id": public_id}]
    assert_signed(delivery)


def test_a_receiver_whose_reply_never_ends_costs_only_its_status() -> None:
    """A webhook's status is all darkroom reads: a reply body that never ends neither blocks
    the delivery until its time-out nor fills memory."""
    import ipaddress
    import socket
    import threading

    from darkroom.media.sources import post_checked

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
            while not stop.is_set():  # a trickle of body, never finished
                try:
                    connection.sendall(b"x" * 1024)
                except OSError:
                    return
                stop.wait(0.05)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        status = anyio.run(lambda: post_checked(url, b"{}", {}, timeout=10, allow=[ipaddress.ip_network("127.0.0.1/32")]))
        assert status == 200
    finally:
        stop.set()
        listener.close()
        thread.join(5)
