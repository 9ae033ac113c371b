"""Redis being away never fails a request: each shared-state operation falls back to what one
process can do (media/shared_state.py)."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from darkroom.media.shared_state import RedisSharedState
from support import free_port


def test_an_unreachable_redis_degrades_to_the_single_process_behaviour(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        shared = RedisSharedState(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
        await shared.announce_write()  # logged, not raised
        async with shared.single_flight("derivative|x"):  # no lock to take: the render goes ahead
            pass
        assert await shared.count_call("key:1", 0, 60) is None  # the caller counts in its process
        await shared.stop()

    started = time.monotonic()
    asyncio.run(scenario())
    assert "could not announce a write" in caplog.text
    assert time.monotonic() - started < 3  # a refused connection is not waited on


def test_a_render_lock_is_held_by_one_process_at_a_time() -> None:
    from tests.cluster.cluster import REDIS_URL, redis_available

    if not redis_available():
        pytest.skip(f"no Redis at {REDIS_URL}")

    async def scenario() -> list[str]:
        first, second = RedisSharedState(REDIS_URL), RedisSharedState(REDIS_URL)  # two nodes
        lock_name = f"derivative|{secrets.token_hex(6)}"
        order: list[str] = []

        async def hold(shared: RedisSharedState, name: str) -> None:
            async with shared.single_flight(lock_name):
                order.append(f"{name} in")
                await asyncio.sleep(0.2)
                order.append(f"{name} out")

        await asyncio.gather(hold(first, "a"), hold(second, "b"))
        await first.stop()
        await second.stop()
        return order

    order = asyncio.run(scenario())
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
