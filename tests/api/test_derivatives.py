"""The derivative cache when it answers first and stores afterwards: one render, nothing stale kept.

Each test drives `DerivativeCache` over real services (SQLite and PostgreSQL, a local blob
store) and holds the background store at a gate, to put a destroy or a new version exactly
between answering and storing.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pyvips
import sqlalchemy as sa

from darkroom import catalog
from darkroom.media import derivatives
from darkroom.server import build_services
from darkroom.media.derivatives import ClientHints, DerivativeCache, StrictTransformationRefused
from darkroom.media.services import Services
from darkroom.catalog import Asset, NewAsset
from darkroom.catalog import derived as derived_records
from darkroom.catalog.schema import assets, derived
from darkroom.config import Settings
from darkroom.imaging import decoded
from darkroom.storage import BlobNotFound, BlobStore
from darkroom.transform import parse

CLOUD = "derivatives-test"


class GatedStore:
    """The real store, except that writing a derivative waits for `gate` (or fails, if told to)."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.gate = asyncio.Event()
        self.fail_puts = False
        self.puts: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def started(self) -> None:
        """Until the background store has reached the gate."""
        for _ in range(1000):
            if self.puts:
                return
            await asyncio.sleep(0.001)
        raise AssertionError("no derivative was being stored")

    async def put_bytes(self, key: str, data: bytes) -> None:
        if "/derived/" not in key:  # an original (a new version's upload) goes straight through
            await self.store.put_bytes(key, data)
            return
        self.puts.append(key)
        await self.gate.wait()
        if self.fail_puts:
            raise OSError("disk full")
        await self.store.put_bytes(key, data)


@pytest.fixture(params=["sqlite", "postgres"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    env = {"DARKROOM_DATA_DIR": str(tmp_path)}
    if request.param == "postgres":
        env["DARKROOM_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    built = build_services(Settings.from_env(env))
    catalog.ensure_cloud(built.engine, CLOUD)
    try:
        yield built
    finally:
        built.engine.dispose()


async def _upload(services: Services, source: Path, public_id: str) -> Asset:
    data = source.read_bytes()
    storage_key = f"{CLOUD}/originals/{secrets.token_hex(8)}"
    await services.store.put_bytes(storage_key, data)
    image = pyvips.Image.new_from_buffer(data, "")
    fmt = source.suffix.lstrip(".")
    new = NewAsset(CLOUD, "image", "upload", public_id, storage_key, fmt, len(data), hashlib.md5(data).hexdigest(), f"image/{fmt}",
                   image.width, image.height)
    return (await services.db(catalog.save_asset, new, overwrite=True)).asset


def _records(services: Services, asset: Asset) -> list[sa.Row[Any]]:
    with services.engine.connect() as conn:
        return list(conn.execute(sa.select(derived.c.version, derived.c.storage_key).where(derived.c.asset_pk == asset.pk)))


async def _blob_exists(store: BlobStore, key: str) -> bool:
    try:
        await store.get_bytes(key)
    except BlobNotFound:
        return False
    return True


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = derivatives.render

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(derivatives, "render", counting)
    return calls


WIDTH_40 = parse("c_scale,w_40")


def test_the_answer_comes_before_the_store_and_the_next_process_finds_it(services: Services, sample_png: Path) -> None:
    async def scenario() -> None:
        asset = await _upload(services, sample_png, f"answered-{secrets.token_hex(4)}")
        gated = GatedStore(services.store)
        services.store = gated  # type: ignore[assignment]
        cache = DerivativeCache()
        answer = await cache.get(services, asset, WIDTH_40, "jpg", ClientHints(), answer_first=True)
        await gated.started()
        assert answer.width == 40 and not _records(services, asset)  # answered, nothing stored yet
        gated.gate.set()
        await cache.settle()
        assert len(_records(services, asset)) == 1
        # Another process (a fresh cache) serves it from the store, even where rendering is refused.
        again = await DerivativeCache().get(services, asset, WIDTH_40, "jpg", ClientHints(), may_render=False)
        assert again.data == answer.data

    asyncio.run(scenario())


def test_identical_requests_while_storing_render_once(services: Services, sample_png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renders = _count_renders(monkeypatch)

    async def scenario() -> None:
        asset = await _upload(services, sample_png, f"once-{secrets.token_hex(4)}")
        gated = GatedStore(services.store)
        services.store = gated  # type: ignore[assignment]
        cache = DerivativeCache(max_memory_bytes=0)  # nothing kept in memory: only the in-flight entry can answer
        first = await cache.get(services, asset, WIDTH_40, "jpg", ClientHints(), answer_first=True)
        await gated.started()
        during = await asyncio.gather(*(cache.get(services, asset, WIDTH_40, "jpg", ClientHints(), answer_first=True) for _ in range(3)))
        assert all(item.data == first.data for item in during)
        # A caller that needs it stored (eager, archives) waits for the store instead.
        eager = asyncio.create_task(cache.get(services, asset, WIDTH_40, "jpg", ClientHints()))
        await asyncio.sleep(0.05)
        assert not eager.done()
        gated.gate.set()
        assert (await eager).data == first.data and len(_records(services, asset)) == 1
        await cache.settle()
        assert len(renders) == 1

    asyncio.run(scenario())


@pytest.mark.parametrize("change", ["destroy", "new version"])
def test_a_destroy_or_new_version_during_the_store_leaves_nothing_stale(services: Services, sample_png: Path, change: str) -> None:
    async def scenario() -> None:
        public_id = f"raced-{secrets.token_hex(4)}"
        asset = await _upload(services, sample_png, public_id)
        gated = GatedStore(services.store)
        services.store = gated  # type: ignore[assignment]
        cache = DerivativeCache()
        await cache.get(services, asset, WIDTH_40, "jpg", ClientHints(), answer_first=True)
        await gated.started()
        if change == "destroy":
            await services.db(catalog.delete_asset, CLOUD, "image", "upload", public_id)
        else:
            await _upload(services, sample_png, public_id)
        gated.gate.set()
        await cache.settle()
        assert _records(services, asset) == []  # no record of the old version, nor of a destroyed asset
        assert not await _blob_exists(gated.store, gated.puts[0])  # and its blob was removed again

    asyncio.run(scenario())


def test_a_record_made_while_an_overwrite_holds_the_asset_waits_and_records_nothing(services: Services, sample_png: Path) -> None:
    """The race the gate above cannot show on PostgreSQL: the upsert's statement starts while
    the overwrite's transaction is still open. It must wait for that transaction and then see
    the new version, not record a derivative for the old one after the overwrite swept them."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no such interleaving")
    asset = asyncio.run(_upload(services, sample_png, f"held-{secrets.token_hex(4)}"))
    variant = derivatives.variant_key(WIDTH_40, "jpg", ClientHints())
    with ThreadPoolExecutor(1) as pool, services.engine.begin() as overwrite:
        overwrite.execute(sa.select(assets.c.id).where(assets.c.id == asset.pk).with_for_update())  # as save_asset does
        recording = pool.submit(derived_records.record_derived, services.engine, asset, variant, "k", 1, "jpg", 40, 27)
        time.sleep(0.5)
        assert not recording.done()  # waiting for the overwrite, not racing past it
        overwrite.execute(sa.delete(derived).where(derived.c.asset_pk == asset.pk))
        overwrite.execute(sa.update(assets).where(assets.c.id == asset.pk).values(version=asset.version + 1, version_id="replaced"))
    assert recording.result(timeout=10) is False
    assert _records(services, asset) == []


def test_a_failed_store_loses_only_the_cache_entry(services: Services, sample_png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renders = _count_renders(monkeypatch)

    async def scenario() -> None:
        asset = await _upload(services, sample_png, f"unstored-{secrets.token_hex(4)}")
        gated = GatedStore(services.store)
        gated.fail_puts = True
        gated.gate.set()
        services.store = gated  # type: ignore[assignment]
        cache = DerivativeCache(max_memory_bytes=0)
        answer = await cache.get(services, asset, WIDTH_40, "jpg", ClientHints(), answer_first=True)
        await cache.settle()
        assert answer.width == 40 and _records(services, asset) == []
        with pytest.raises(StrictTransformationRefused):  # nothing stored: only a render could answer
            await cache.get(services, asset, WIDTH_40, "jpg", ClientHints(), may_render=False)
        gated.fail_puts = False
        assert (await cache.get(services, asset, WIDTH_40, "jpg", ClientHints())).data == answer.data
        assert len(renders) == 2 and len(_records(services, asset)) == 1

    asyncio.run(scenario())


def test_a_re_upload_that_reuses_the_pk_and_version_number_gets_its_own_derivative(
    services: Services, sample_png: Path, sample_jpg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Destroy and upload again within one second: SQLite hands out the destroyed row's pk again
    # and the version number (Unix seconds) is the same; only version_id tells them apart.
    monkeypatch.setattr("darkroom.catalog.assets.time", SimpleNamespace(time=lambda: 1_800_000_000))

    async def scenario() -> None:
        public_id = f"reused-{secrets.token_hex(4)}"
        before = await _upload(services, sample_png, public_id)  # 120×80
        gated = GatedStore(services.store)
        services.store = gated  # type: ignore[assignment]
        cache = DerivativeCache()
        assert (await cache.get(services, before, WIDTH_40, "jpg", ClientHints(), answer_first=True)).height == 27
        await gated.started()
        await services.db(catalog.delete_asset, CLOUD, "image", "upload", public_id)
        after = await _upload(services, sample_jpg, public_id)  # 200×150
        gated.gate.set()
        await cache.settle()
        assert _records(services, after) == []  # the old picture was not recorded for the new asset
        assert (await cache.get(services, after, WIDTH_40, "jpg", ClientHints())).height == 30

    asyncio.run(scenario())


def test_new_sizes_of_a_png_reuse_its_decoded_pixels(services: Services, sample_png: Path) -> None:
    decoded.configure(64 * 1024 * 1024)

    async def scenario() -> None:
        asset = await _upload(services, sample_png, f"decoded-{secrets.token_hex(4)}")
        cache = DerivativeCache()
        for width in (30, 31, 32):
            assert (await cache.get(services, asset, parse(f"c_scale,w_{width}"), "jpg", ClientHints())).width == width
        assert len(decoded.shared()) == 1  # decoded once, under this version's storage key

    try:
        asyncio.run(scenario())
    finally:
        decoded.configure(decoded.DEFAULT_BUDGET_BYTES)


def test_settling_gives_up_on_a_store_that_hangs(services: Services, sample_png: Path) -> None:
    async def scenario() -> None:
        asset = await _upload(services, sample_png, f"hung-{secrets.token_hex(4)}")
        gated = GatedStore(services.store)  # the gate never opens
        services.store = gated  # type: ignore[assignment]
        cache = DerivativeCache()
        await cache.get(services, asset, WIDTH_40, "jpg", ClientHints(), answer_first=True)
        await gated.started()
        await asyncio.wait_for(cache.settle(timeout=0.1), timeout=5)
        assert _records(services, asset) == []

    asyncio.run(scenario())
