"""The bound on the passes in flight (runtime/passes.py), and its fairness: a pass whose Azure request waits
for one Speech resource's budget lends its place to the passes of the others (azure/transport.py's Gate)."""

from __future__ import annotations

import asyncio

import pytest
from azure_speech_operator.azure.lending import while_waiting
from azure_speech_operator.azure.limiter import SlidingWindowLimiter
from azure_speech_operator.azure.transport import Gate
from azure_speech_operator.runtime.passes import PassSlots


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_no_more_passes_than_the_bound_run_at_once_and_the_others_start_in_arrival_order() -> None:
    slots = PassSlots(2)
    release = asyncio.Event()
    running: list[int] = []
    started: list[int] = []

    async def pass_(n: int) -> None:
        async with slots.held():
            started.append(n)
            running.append(n)
            await release.wait()
            running.remove(n)

    tasks = [asyncio.create_task(pass_(n)) for n in range(5)]
    await settle()
    assert started == [0, 1] and slots.held_now == 2
    release.set()
    await asyncio.gather(*tasks)
    assert started == [0, 1, 2, 3, 4]
    assert slots.held_now == 0


async def holder_and_waiter(
    slots: PassSlots,
) -> tuple[asyncio.Event, asyncio.Task[None], asyncio.Task[None]]:
    """With one slot: a pass holding it until the event is set, and a pass waiting for it."""
    release = asyncio.Event()

    async def pass_() -> None:
        async with slots.held():
            await release.wait()

    first = asyncio.create_task(pass_())
    await settle()
    waiting = asyncio.create_task(pass_())
    await settle()
    return release, first, waiting


async def test_a_pass_cancelled_while_waiting_for_a_slot_takes_none() -> None:
    slots = PassSlots(1)
    release, first, waiting = await holder_and_waiter(slots)
    await cancel(waiting)
    release.set()
    await first
    assert slots.held_now == 0
    async with slots.held():  # the bound is whole again
        assert slots.held_now == 1


async def test_a_waiter_cancelled_and_passed_over_by_a_release_leaves_the_line_clean() -> None:
    slots = PassSlots(1)
    release, first, waiting = await holder_and_waiter(slots)
    release.set()  # the holder runs first ...
    waiting.cancel()  # ... the waiter's future is cancelled now, its task learns it only after
    await first  # the release passes over the cancelled waiter and drops it from the line
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert slots.held_now == 0 and slots.has_room()


async def test_a_lent_slot_goes_to_the_next_pass_and_comes_back_before_new_ones() -> None:
    slots = PassSlots(1)
    budget = asyncio.Event()
    order: list[str] = []

    async def waits_for_budget() -> None:
        async with slots.held():
            lend = while_waiting.get()
            assert lend is not None
            async with lend():
                order.append("lent")
                await budget.wait()
            order.append("back")

    b_done = asyncio.Event()

    async def other(name: str, until: asyncio.Event | None = None) -> None:
        async with slots.held():
            order.append(name)
            if until is not None:
                await until.wait()

    waiting = asyncio.create_task(waits_for_budget())
    await settle()
    b = asyncio.create_task(other("b", b_done))
    await settle()
    assert order == ["lent", "b"]  # b runs while the first pass waits for its budget
    c = asyncio.create_task(other("c"))  # a new pass, queued before the first one asks for its slot back
    await settle()
    budget.set()
    await settle()
    b_done.set()
    await asyncio.gather(waiting, b, c)
    assert order == ["lent", "b", "back", "c"]
    assert slots.held_now == 0
    assert while_waiting.get() is None  # nothing is lent outside a pass


async def test_a_pass_cancelled_while_taking_its_lent_slot_back_releases_nothing() -> None:
    slots = PassSlots(1)
    hold_on, budget = asyncio.Event(), asyncio.Event()

    async def lender() -> None:
        async with slots.held():
            lend = while_waiting.get()
            assert lend is not None
            async with lend():
                await budget.wait()

    async def holder() -> None:
        async with slots.held():
            await hold_on.wait()

    lending = asyncio.create_task(lender())
    await settle()  # the lender lent its slot
    holding = asyncio.create_task(holder())
    await settle()  # the holder took it
    budget.set()
    await settle()  # the lender waits to take it back
    assert slots.held_now == 1
    await cancel(lending)
    hold_on.set()
    await holding
    assert slots.held_now == 0


async def test_a_task_a_pass_starts_inherits_its_context_but_cannot_lend_its_slot() -> None:
    # A shared read runs its fetch in a task of its own, started by the first pass that asks. Were the task
    # to lend the pass's slot while its request waits for the budget, it would then wait for a slot to take
    # back, behind passes that hold every slot waiting for its answer: no one would ever go on.
    slots = PassSlots(1)
    entered: list[int] = []

    async def fetch() -> None:
        lend = while_waiting.get()
        assert lend is not None  # inherited with the context
        async with lend():
            entered.append(slots.held_now)

    async with slots.held():
        await asyncio.create_task(fetch())
        assert slots.held_now == 1
    assert entered == [1]  # nothing was lent
    assert slots.held_now == 0


async def test_a_pass_waiting_for_one_speech_resources_budget_holds_back_no_other_resource() -> None:
    # One slot only. The first pass's Speech resource has spent its budget (one request per window, just
    # sent); the second pass's has room. The second must finish while the first still waits.
    now = [0.0]
    woken = asyncio.Event()

    async def fake_sleep(seconds: float) -> None:
        await woken.wait()
        now[0] += seconds

    def gate() -> Gate:
        limiter = SlidingWindowLimiter(1, 10.0, clock=lambda: now[0], sleep=fake_sleep)
        return Gate(limiter, asyncio.Semaphore(4))

    spent, fresh = gate(), gate()
    async with spent.admitted(first=False):
        pass  # the window of `spent` is full for 10 s
    slots = PassSlots(1)
    done: list[str] = []

    async def pass_(name: str, to: Gate) -> None:
        async with slots.held(), to.admitted(first=False):
            done.append(name)

    throttled = asyncio.create_task(pass_("throttled", spent))
    await settle()
    other = asyncio.create_task(pass_("other", fresh))
    await asyncio.wait_for(other, 1)
    assert done == ["other"]
    woken.set()  # the window passes
    await asyncio.wait_for(throttled, 1)
    assert done == ["other", "throttled"]
    assert slots.held_now == 0


async def test_a_request_with_room_lends_nothing() -> None:
    lent: list[bool] = []

    class Lend:
        async def __aenter__(self) -> None:
            lent.append(True)

        async def __aexit__(self, *exc: object) -> None:
            return None

    token = while_waiting.set(Lend)
    try:
        gate = Gate(SlidingWindowLimiter(2, 10.0), asyncio.Semaphore(1))
        async with gate.admitted(first=True):
            pass
        assert lent == []
        async with gate.admitted(first=False):
            pass  # the second place in the window: still at once
        assert lent == []
    finally:
        while_waiting.reset(token)
