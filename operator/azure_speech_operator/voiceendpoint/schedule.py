"""Whether a VoiceEndpoint should be suspended now, and when that changes next.

The wish is `spec.suspended` when it is set (true or false), else what the schedule's most recent transition
asked for, else running. The schedule is two cron expressions, `suspend` and `resume`, in an IANA time zone.
Pure: no I/O, the caller passes `now`.

- The most recent transition, not the next one, decides: an operator that was stopped while a transition
  happened computes the same wish when it starts again (a missed 20:00 suspend still suspends at 23:00).
- When both expressions fire at the same minute, resume wins (an endpoint kept running by mistake costs money;
  one suspended by mistake breaks its applications).
- Times follow the zone's daylight saving time as cron does. A fixed time (a specific minute and hour, like
  `30 2 * * *`) that the spring-forward night skips fires when the clock jumps (03:00), and one the
  fall-back night repeats fires once, at the first. An expression with `*` in its minute or hour field
  fires at every real time that matches: in both passes of a repeated hour, never in a skipped one.
- `next` is the next change of the wish (a suspend while suspended changes nothing), for
  `status.nextTransition` and for waking up on time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from azure_speech_operator.conditions import format_time

Action = Literal["suspend", "resume"]

SUSPEND_FIELD = "spec.schedule.suspend"
RESUME_FIELD = "spec.schedule.resume"
TIME_ZONE_FIELD = "spec.schedule.timeZone"

CRON_EXAMPLE = "'0 20 * * 1-5' (20:00 Monday to Friday)"
CRON_FIELDS = "minute hour day-of-month month day-of-week"

# cronsim iterates in wall-clock time; close to a daylight saving change, a start this far from `now` (more
# than any shift) and a filter on UTC keep a fire in a repeated hour from being missed or counted twice.
_MARGIN = timedelta(hours=3)
# How many fire times (suspends and resumes together) `next_change` walks through for a suspend that no resume
# cancels before it gives up: days of suspends every minute all cancelled (a schedule that runs on weekdays by
# re-asserting both every few minutes), tens of milliseconds; a schedule whose every suspend coincides with a
# resume gets there, its wish never changing.
_NEXT_LIMIT = 10_000


class ScheduleError(ValueError):
    """A cron expression or time zone that cannot be used; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ScheduleLike(Protocol):
    """`spec.schedule` (the spec model, or anything with these attributes)."""

    @property
    def suspend(self) -> str: ...

    @property
    def resume(self) -> str: ...

    @property
    def time_zone(self) -> str: ...


@dataclass(frozen=True)
class Transition:
    action: Action
    at: datetime  # UTC

    def status(self) -> dict[str, str]:
        """As `status.nextTransition`."""
        return {"action": self.action, "at": format_time(self.at)}


@dataclass(frozen=True)
class Wish:
    suspended: bool
    source: Literal["spec", "schedule", "default"]  # spec.suspended, the schedule, or neither (running)
    last: Transition | None = None  # the schedule's most recent transition: the one the wish follows
    next: Transition | None = None  # the schedule's next change of the wish


def check_cron(expression: str, field: str) -> str:
    """`expression` if it is a five-field cron expression cronsim can evaluate, else ScheduleError."""
    count = len(expression.split())
    if count != 5:
        raise ScheduleError(
            field,
            f"{expression!r} has {count} fields; a cron expression has 5 ({CRON_FIELDS}), "
            f"e.g. {CRON_EXAMPLE}",
        )
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ScheduleError(
            field, f"{expression!r} is not a valid cron expression ({exc}; fields: {CRON_FIELDS})"
        ) from None
    return expression


def check_time_zone(name: str, field: str = TIME_ZONE_FIELD) -> ZoneInfo:
    try:
        if name == "localtime":  # the zone of whichever machine the operator runs on, when it has the file
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            field, f"{name!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)"
        ) from None


def wish(suspended: bool | None, schedule: ScheduleLike | None, now: datetime) -> Wish:
    """What the endpoint should be at `now` (timezone-aware), and the schedule's next change of it.

    Raises ScheduleError for an unusable schedule, even while `suspended` overrides it (so that the mistake
    is shown before the override is removed)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    compiled = _Schedule(schedule) if schedule is not None else None
    if suspended is not None:
        return Wish(suspended=suspended, source="spec")
    if compiled is None:
        return Wish(suspended=False, source="default")
    now = now.astimezone(UTC)
    last = compiled.last(now)
    is_suspended = last is not None and last.action == "suspend"
    next_change = compiled.next_change(now, is_suspended)
    return Wish(suspended=is_suspended, source="schedule", last=last, next=next_change)


class _Schedule:
    def __init__(self, schedule: ScheduleLike) -> None:
        self.suspend = check_cron(schedule.suspend, SUSPEND_FIELD)
        self.resume = check_cron(schedule.resume, RESUME_FIELD)
        self.zone = check_time_zone(schedule.time_zone)

    def last(self, now: datetime) -> Transition | None:
        """The most recent transition at or before `now`; resume wins a tie."""
        suspend, resume = last_fire(self.suspend, self.zone, now), last_fire(self.resume, self.zone, now)
        if resume is not None and (suspend is None or resume >= suspend):
            return Transition("resume", resume)
        return Transition("suspend", suspend) if suspend is not None else None

    def next_change(self, now: datetime, suspended: bool) -> Transition | None:
        """The first transition after `now` that changes the wish from `suspended`."""
        if suspended:
            resume = next(fires_after(self.resume, self.zone, now), None)
            return Transition("resume", resume) if resume is not None else None
        # both in step, in order: a suspend is cancelled by a resume at the same moment (resume wins a tie)
        suspends = fires_after(self.suspend, self.zone, now)
        resumes = fires_after(self.resume, self.zone, now)
        resume = next(resumes, None)
        steps = 0
        for suspend in suspends:
            while resume is not None and resume < suspend and steps < _NEXT_LIMIT:
                resume, steps = next(resumes, None), steps + 1
            if resume != suspend:
                return Transition("suspend", suspend) if steps < _NEXT_LIMIT else None
            steps += 1
            if steps >= _NEXT_LIMIT:
                break
        return None


# --- when a cron expression fires ---------------------------------------------------------------------------


def fires_after(expression: str, zone: ZoneInfo, now: datetime) -> Iterator[datetime]:
    """When `expression` (on `zone`'s clock) fires after `now`: UTC times, increasing."""
    previous = now
    for at in _fires(expression, zone, now - _margin(zone, now), reverse=False):
        if at > previous:
            previous = at
            yield at


def last_fire(expression: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When `expression` (on `zone`'s clock) last fired at or before `now`, in UTC (None if not within
    cronsim's reach of 50 years)."""
    start = now + _margin(zone, now) + timedelta(seconds=1)  # reverse iteration starts before its start
    return next((at for at in _fires(expression, zone, start, reverse=True) if at <= now), None)


def _margin(zone: ZoneInfo, at: datetime) -> timedelta:
    """How far from `at` to start iterating: wall-clock order is UTC order except where the zone's UTC offset
    falls back (a repeated hour); near such a change, start _MARGIN away and filter by UTC."""
    before = (at - _MARGIN).astimezone(zone).utcoffset()
    after = (at + _MARGIN).astimezone(zone).utcoffset()
    return _MARGIN if before != after else timedelta(0)


def _fires(expression: str, zone: ZoneInfo, start: datetime, reverse: bool) -> Iterator[datetime]:
    """Fire times in UTC from `start` on (backwards if `reverse`), in order; repeats possible.

    cronsim walks wall-clock times (naive: its own time zone handling misses fires around half-hour changes
    such as Australia/Lord_Howe's); `_moments` turns each into the moments it fires at. In a repeated hour
    the second pass comes after all of the first, so those moments wait in `later`."""
    fixed_time = not any(part.startswith("*") for part in expression.split()[:2])
    later: deque[datetime] = deque()
    for wall in CronSim(expression, start.astimezone(zone).replace(tzinfo=None), reverse=reverse):
        moments = _moments(wall, zone, fixed_time)
        if reverse:
            moments.reverse()
        if moments:
            while later and (later[0] > moments[0] if reverse else later[0] < moments[0]):
                yield later.popleft()
            yield moments[0]
            later.extend(moments[1:])
    yield from later


def _moments(wall: datetime, zone: ZoneInfo, fixed_time: bool) -> list[datetime]:
    """When a cron time reading `wall` on `zone`'s clock fires, in UTC, as cron does: once where the time
    exists once; in a repeated hour twice, or only at the first for a fixed time (a specific minute and hour,
    like '30 2 * * *'); in a skipped hour never, or at the end of the gap for a fixed time."""
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if _exists(first):
        if first.utcoffset() == second.utcoffset() or fixed_time:
            return [first.astimezone(UTC)]
        return [first.astimezone(UTC), second.astimezone(UTC)]
    if not fixed_time:
        return []
    while not _exists(first):
        first += timedelta(minutes=1)  # wall-clock arithmetic: the first minute after the gap
    return [first.astimezone(UTC)]


def _exists(moment: datetime) -> bool:
    """Whether the zone's clock ever reads `moment`'s wall time (not inside a spring-forward gap)."""
    wall = moment.replace(tzinfo=None)
    return moment.astimezone(UTC).astimezone(moment.tzinfo).replace(tzinfo=None) == wall
