"""The sliding-window limiter with a fake clock: no real sleeping."""

from __future__ import annotations

import asyncio

import pytest
from azure_speech_operator.azure.limiter import PausedTooLong, SlidingWindowLimiter
from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import FakeClock


def _max_in_any_window(times: list[float], window: float) -> int:
    return max((sum(1 for t in times if s <= t < s + window) for s in times), default=0)


async def test_a_burst_is_spread_over_windows() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(5, 1.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(23):
        async with limiter.hold():
            times.append(clock.now)
    assert _max_in_any_window(times, 1.0) == 5
    assert times[-1] - times[0] == pytest.approx(4.0)  # 23 requests need 5 windows, the first one free


async def test_concurrent_waiters_are_served_in_order() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 1.0, clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def one(i: int) -> None:
        async with limiter.hold():
            order.append(i)

    await asyncio.gather(*(one(i) for i in range(7)))
    assert order == list(range(7))


async def test_pause_holds_everyone_and_never_shortens() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    limiter.pause(30)
    limiter.pause(5)
    assert limiter.paused_for == 30
    start = clock.now
    async with limiter.hold():
        assert clock.now - start == pytest.approx(30)
    assert limiter.paused_for == 0


async def test_a_waiter_gives_up_on_a_pause_longer_than_it_would_wait() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    limiter.pause(20)
    async with limiter.hold(max_pause=30):  # a pause it can wait out
        pass
    limiter.pause(600)
    with pytest.raises(PausedTooLong) as info:
        await limiter.acquire(max_pause=30)
    assert info.value.seconds == pytest.approx(600)


async def test_a_slot_says_how_long_it_was_held_back() -> None:
    clock = FakeClock()

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)  # others run meanwhile, as in a real sleep
        clock.now += seconds

    limiter = SlidingWindowLimiter(2, 1.0, clock=clock, sleep=sleep)

    async def one() -> float | None:
        async with limiter.hold() as slot:
            return slot.waited

    assert await asyncio.gather(one(), one(), one()) == [None, None, 1.0]  # the third waited for the window
    clock.now += 5
    limiter.pause(3)
    # the second waits behind the first, which sleeps out the pause; then both find room at once
    assert await asyncio.gather(one(), one()) == [3.0, 3.0]
    clock.now += 5
    assert await one() is None


def test_bad_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="max_requests"):
        SlidingWindowLimiter(0, 1.0)


@settings(max_examples=60, deadline=None)
@given(
    budget=st.integers(min_value=1, max_value=20),
    window=st.floats(min_value=0.1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=60),
)
def test_never_more_than_the_budget_in_any_window(budget: int, window: float, gaps: list[float]) -> None:
    async def run() -> list[float]:
        clock = FakeClock()
        limiter = SlidingWindowLimiter(budget, window, clock=clock, sleep=clock.sleep)
        times = []
        for gap in gaps:
            clock.now += gap
            async with limiter.hold():
                times.append(clock.now)
        return times

    times = asyncio.run(run())
    assert _max_in_any_window(times, window * 0.999999) <= budget


async def test_a_request_counts_until_a_window_after_its_answer() -> None:
    """Azure may count a request anywhere between its send and its answer: a slow answer keeps the slot."""
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 1.0, clock=clock, sleep=clock.sleep)
    slow = await limiter.acquire()
    async with limiter.hold():
        pass
    clock.now += 5.0  # the slow request is still in flight
    limiter.release(slow)
    start = clock.now
    async with limiter.hold():
        pass  # one slot free: the fast request expired long ago
    assert clock.now == start
    async with limiter.hold():
        pass  # both slots are taken until one window after the slow answer
    assert clock.now == pytest.approx(start + 1.0)


async def test_waiters_wake_when_an_in_flight_request_answers() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 1.0, clock=clock, sleep=clock.sleep)
    first = await limiter.acquire()
    second = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    assert not second.done()
    limiter.release(first)
    slot = await second
    assert first.done is not None and slot.sent == pytest.approx(first.done + 1.0)


async def test_a_waiter_woken_at_the_expiry_instant_never_spins() -> None:
    """0.1 + 0.1 - 0.1 != 0.1 in floats: the wake-up time and the expiry test must agree exactly, or a
    waiter sleeps 0 s forever (found by the property test above)."""
    clock = FakeClock()
    clock.now = 0.1
    limiter = SlidingWindowLimiter(1, 0.1, clock=clock, sleep=clock.sleep)
    for _ in range(30):
        async with limiter.hold():
            pass
    assert clock.now == pytest.approx(0.1 + 29 * 0.1)


class _BoundedClock(FakeClock):
    """A fake clock that fails instead of hanging when a waiter keeps sleeping (a float-rounding spin)."""

    def __init__(self, start: float, max_sleeps: int) -> None:
        super().__init__()
        self.now = start
        self.max_sleeps = max_sleeps

    async def sleep(self, seconds: float) -> None:
        assert seconds > 0, "a waiter slept 0 s: it would spin"
        assert len(self.slept) < self.max_sleeps, "a waiter keeps sleeping"
        await super().sleep(seconds)


@settings(max_examples=150, deadline=None)
@given(
    start=st.floats(min_value=0, max_value=1e7),
    budget=st.integers(min_value=1, max_value=5),
    window=st.floats(min_value=0.001, max_value=30),
    steps=st.lists(
        st.tuples(st.floats(min_value=0, max_value=5), st.none() | st.floats(min_value=0, max_value=60)),
        min_size=1,
        max_size=30,
    ),
)
def test_pauses_and_windows_end_at_any_clock_value(
    start: float, budget: int, window: float, steps: list[tuple[float, float | None]]
) -> None:
    """Large clock values and odd windows make `a + b - a != b`: every wait must still end, after the pause
    it waits for, with a bounded number of sleeps."""

    async def run() -> None:
        clock = _BoundedClock(start, max_sleeps=3 * len(steps))
        limiter = SlidingWindowLimiter(budget, window, clock=clock, sleep=clock.sleep)
        for gap, pause in steps:
            clock.now += gap
            if pause is not None:
                limiter.pause(pause)
            resume_at = clock.now + limiter.paused_for
            async with limiter.hold() as slot:
                assert slot.sent >= resume_at or slot.sent == pytest.approx(resume_at)

    asyncio.run(run())


async def test_writes_go_before_the_reads_waiting_with_them() -> None:
    """50 creates and the first polls of the early ones on one budget: the creates go first, the polls wait
    (a poll that waits costs a little lag; a create that waits a whole window costs a window)."""
    clock = FakeClock()

    async def sleep(seconds: float) -> None:
        until = clock.now + seconds
        for _ in range(5):  # the others ask meanwhile, as in a real sleep
            await asyncio.sleep(0)
        clock.now = max(clock.now, until)

    limiter = SlidingWindowLimiter(2, 1.0, clock=clock, sleep=sleep)
    order: list[str] = []

    async def one(name: str) -> None:
        async with limiter.hold(first=name.startswith("w")):
            order.append(name)

    await asyncio.gather(*(one(name) for name in ("r1", "r2", "r3", "w1", "r4", "w2", "w3")))
    # r1 and r2 fill the first window before any write asks; then every write, then the reads in order
    assert order == ["r1", "r2", "w1", "w2", "w3", "r3", "r4"]


async def test_a_cancelled_write_does_not_hold_the_reads_back() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 1.0, clock=clock, sleep=clock.sleep)
    async with limiter.hold():
        write = asyncio.ensure_future(limiter.acquire(first=True))
        await asyncio.sleep(0)
        write.cancel()
        await asyncio.gather(write, return_exceptions=True)
    async with limiter.hold():  # served: no write waits any more
        pass
