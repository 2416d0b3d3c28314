"""The drift scheduler (runtime/drift.py): one task looks at every object when its time comes, on a fake
clock (its sleeps are real but cut to `tick`, so the tests advance the clock and poll for what follows)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from azure_speech_operator.runtime.drift import DriftScheduler

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
TICK = 0.005


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Target:
    """Answers each look with the next of `answers` (seconds from the clock's now, or None), recording when
    it was looked at; `gate`, when given, holds each look until it is set."""

    def __init__(self, clock: Clock, *answers: float | None, gate: asyncio.Event | None = None) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.gate = gate
        self.looks: list[datetime] = []
        self.running = 0
        self.most_running = 0

    async def look(self) -> datetime | None:
        self.looks.append(self.clock.now)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            answer = self.answers.pop(0) if self.answers else 3600.0
            return None if answer is None else self.clock.now + timedelta(seconds=answer)
        finally:
            self.running -= 1


@pytest.fixture
async def clock() -> Clock:
    return Clock()


@pytest.fixture
async def scheduler(clock: Clock) -> AsyncIterator[DriftScheduler]:
    scheduler = DriftScheduler(now=clock, tick=TICK, stop_timeout=0.2)
    yield scheduler
    await scheduler.aclose()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(TICK)
    raise AssertionError("the condition never held")


async def settle() -> None:
    """Long enough for a due look to have started (many ticks)."""
    await asyncio.sleep(20 * TICK)


async def test_a_new_object_is_looked_at_at_once_then_when_its_look_says(
    clock: Clock, scheduler: DriftScheduler
) -> None:
    target = Target(clock, 30.0, 60.0)
    scheduler.track("a", target)
    await until(lambda: target.looks == [T0])
    clock.advance(29)
    await settle()
    assert target.looks == [T0]  # not due yet
    clock.advance(1)
    await until(lambda: len(target.looks) == 2)
    clock.advance(59)
    await settle()
    assert len(target.looks) == 2
    clock.advance(1)
    await until(lambda: target.looks[-1] == T0 + timedelta(seconds=90))


async def test_objects_are_looked_at_in_the_order_they_are_due(
    clock: Clock, scheduler: DriftScheduler
) -> None:
    order: list[str] = []
    targets = {}
    for key, first in (("late", 50.0), ("early", 10.0), ("middle", 30.0)):
        targets[key] = Target(clock, first)
        scheduler.track(key, targets[key])
    await until(lambda: all(t.looks for t in targets.values()))
    for _ in range(6):
        clock.advance(10)
        await settle()
        order.extend(key for key, t in targets.items() if len(t.looks) == 2 and key not in order)
    assert order == ["early", "middle", "late"]


async def test_a_time_brought_forward_is_kept_and_a_later_one_ignored(
    clock: Clock, scheduler: DriftScheduler
) -> None:
    target = Target(clock, 3600.0, 3600.0)
    scheduler.track("a", target)
    await until(lambda: len(target.looks) == 1)
    scheduler.bring_forward("a", T0 + timedelta(hours=2))  # later than planned: nothing changes
    scheduler.bring_forward("a", T0 + timedelta(seconds=20))
    clock.advance(20)
    await until(lambda: len(target.looks) == 2)
    clock.advance(3600 - 20)  # the first plan's time: that plan was replaced, no look
    await settle()
    assert target.looks == [T0, T0 + timedelta(seconds=20)]
    scheduler.bring_forward("unknown", T0)  # not served: nothing


async def test_an_object_is_never_looked_at_twice_at_once(clock: Clock, scheduler: DriftScheduler) -> None:
    gate = asyncio.Event()
    target = Target(clock, 5.0, gate=gate)
    scheduler.track("a", target)
    await until(lambda: target.running == 1)
    scheduler.bring_forward("a", T0)  # during the look: its answer decides
    scheduler.track("a", target)  # a newer copy of the object: no extra look
    clock.advance(60)
    await settle()
    assert target.looks == [T0]
    gate.set()
    await until(lambda: target.running == 0)
    clock.advance(5)  # the answer's time
    await until(lambda: len(target.looks) == 2)
    assert target.most_running == 1


async def test_looks_of_different_objects_run_at_the_same_time(
    clock: Clock, scheduler: DriftScheduler
) -> None:
    gate = asyncio.Event()
    targets = [Target(clock, gate=gate) for _ in range(3)]
    for number, target in enumerate(targets):
        scheduler.track(number, target)
    await until(lambda: all(t.running == 1 for t in targets))
    gate.set()


async def test_a_forgotten_object_or_a_look_that_answers_none_is_never_looked_at_again(
    clock: Clock, scheduler: DriftScheduler
) -> None:
    forgotten, finished = Target(clock, 10.0), Target(clock, None)
    scheduler.track("forgotten", forgotten)
    scheduler.track("finished", finished)
    await until(lambda: bool(forgotten.looks and finished.looks))
    scheduler.forget("forgotten")
    clock.advance(3600)
    await settle()
    assert forgotten.looks == [T0] and finished.looks == [T0]
    assert "forgotten" not in scheduler and "finished" not in scheduler and len(scheduler) == 0
    scheduler.update("forgotten", forgotten)  # an update never starts serving it
    await settle()
    assert "forgotten" not in scheduler


async def test_a_look_that_raises_is_logged_and_looked_at_again_after_a_tick(
    clock: Clock, scheduler: DriftScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Target):
        async def look(self) -> datetime | None:
            self.looks.append(self.clock.now)
            raise ValueError("a bug")

    target = Broken(clock)
    scheduler.track("a", target)
    await until(lambda: len(target.looks) == 1)
    clock.advance(1)
    await until(lambda: len(target.looks) == 2)
    assert [r.levelno for r in caplog.records] == [logging.ERROR] * len(caplog.records) != []


async def test_stopping_lets_a_look_under_way_end_then_cancels_it(clock: Clock) -> None:
    scheduler = DriftScheduler(now=clock, tick=TICK, stop_timeout=0.05)
    ending, stuck = asyncio.Event(), asyncio.Event()
    quick, slow = Target(clock, gate=ending), Target(clock, gate=stuck)
    scheduler.track("quick", quick)
    scheduler.track("slow", slow)
    await until(lambda: quick.running == 1 and slow.running == 1)
    asyncio.get_running_loop().call_later(0.01, ending.set)
    await scheduler.aclose()
    assert quick.running == 0 and slow.running == 0  # one ended, the other was cancelled
    assert quick.answers == [] and len(quick.looks) == 1
    clock.advance(7200)
    await settle()
    assert len(quick.looks) == 1 and len(slow.looks) == 1  # nothing looks any more


async def test_a_stopped_scheduler_serves_no_new_object(clock: Clock) -> None:
    scheduler = DriftScheduler(now=clock, tick=TICK)
    await scheduler.aclose()
    target = Target(clock)
    scheduler.track("late", target)  # an event that arrives as the operator stops
    await settle()
    assert target.looks == [] and "late" not in scheduler


async def test_a_failing_round_never_ends_the_schedule(
    clock: Clock, scheduler: DriftScheduler, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = iter([RuntimeError("a bug")])
    start = scheduler._start_due_looks

    def flaky() -> float:
        failure = next(rounds, None)
        if failure is not None:
            raise failure
        return start()

    monkeypatch.setattr(scheduler, "_start_due_looks", flaky)
    target = Target(clock)
    scheduler.track("a", target)
    await until(lambda: target.looks == [T0])
    assert [r.getMessage() for r in caplog.records] == ["drift scheduler: a round failed"]
