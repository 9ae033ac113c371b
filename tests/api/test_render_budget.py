"""The process-wide render memory budget (media.render_budget): renders wait their turn in
the order they asked, never hold more than the budget together, and one that can never fit
is refused at once."""

from __future__ import annotations

import asyncio

import pytest

from darkroom.errors import TooLarge
from darkroom.media.render_budget import RenderBudget, RenderTooLarge


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_renders_wait_in_line_and_never_exceed_the_budget() -> None:
    async def scenario() -> None:
        budget = RenderBudget(100)
        order: list[str] = []
        peak = 0
        gates = {name: asyncio.Event() for name in ("a", "b", "c", "d")}

        async def render(name: str, need: int) -> None:
            nonlocal peak
            async with budget.reserve(need):
                order.append(name)
                peak = max(peak, budget.in_use)
                await gates[name].wait()

        tasks = [asyncio.create_task(render("a", 60))]
        await _settle()
        tasks.append(asyncio.create_task(render("b", 70)))  # does not fit beside a: waits
        await _settle()
        tasks.append(asyncio.create_task(render("c", 10)))  # would fit, but b is ahead of it
        await _settle()
        assert order == ["a"] and budget.waiting == 2
        gates["a"].set()
        await _settle()
        assert order == ["a", "b", "c"]  # a's bytes admit b, then c beside it (80 of 100)
        tasks.append(asyncio.create_task(render("d", 30)))
        await _settle()
        assert order == ["a", "b", "c"]
        for name in ("b", "c", "d"):
            gates[name].set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert order == ["a", "b", "c", "d"] and peak <= 100 and budget.in_use == 0

    asyncio.run(scenario())


def test_a_render_larger_than_the_whole_budget_is_refused_at_once() -> None:
    async def scenario() -> None:
        budget = RenderBudget(100)
        with pytest.raises(RenderTooLarge) as refused:
            async with budget.reserve(101):
                raise AssertionError("admitted")
        # A TooLarge: the API answers 400 (tests/security/test_render_memory.py sees it).
        assert isinstance(refused.value, TooLarge) and refused.value.message == "Image too large to transform"
        assert budget.in_use == 0 and budget.waiting == 0

    asyncio.run(scenario())


def test_a_waiter_that_gives_up_leaves_the_line() -> None:
    async def scenario() -> None:
        budget = RenderBudget(100)
        release = asyncio.Event()
        admitted: list[str] = []

        async def hold(name: str, need: int) -> None:
            async with budget.reserve(need):
                admitted.append(name)
                await release.wait()

        first = asyncio.create_task(hold("first", 90))
        await _settle()
        impatient = asyncio.create_task(hold("impatient", 50))  # a client that hangs up while queued
        behind = asyncio.create_task(hold("behind", 10))  # fits now, but waits behind it
        await _settle()
        impatient.cancel()
        await _settle()
        assert admitted == ["first", "behind"]  # the head left: the next in line goes in
        release.set()
        await asyncio.wait_for(asyncio.gather(first, behind), 5)
        with pytest.raises(asyncio.CancelledError):
            await impatient
        assert budget.in_use == 0 and budget.waiting == 0

    asyncio.run(scenario())
