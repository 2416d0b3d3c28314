"""voiceendpoint/schedule.py: the suspend wish from spec.suspended and the schedule, at an injected `now`;
daylight saving edges in Europe/Berlin and America/New_York, transitions missed while stopped, ties, errors,
and properties over random schedules and times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from azure_speech_operator.voiceendpoint.schedule import (
    ScheduleError,
    Transition,
    Wish,
    check_cron,
    check_time_zone,
    fires_after,
    last_fire,
    wish,
)
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

WEEKNIGHTS = "0 20 * * 1-5"  # suspend at 20:00 Monday to Friday
WEEKDAY_MORNINGS = "0 7 * * 1-5"  # resume at 07:00 Monday to Friday


@dataclass(frozen=True)
class Schedule:
    suspend: str
    resume: str
    time_zone: str = "UTC"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def suspend_at(text: str) -> Transition:
    return Transition("suspend", utc(text))


def resume_at(text: str) -> Transition:
    return Transition("resume", utc(text))


BERLIN_WORKDAYS = Schedule(WEEKNIGHTS, WEEKDAY_MORNINGS, "Europe/Berlin")


# --- the wish ----------------------------------------------------------------------------------------------


def test_without_suspended_or_schedule_the_endpoint_runs() -> None:
    assert wish(None, None, utc("2026-06-10T12:00:00")) == Wish(suspended=False, source="default")


@pytest.mark.parametrize("suspended", [True, False])
def test_an_explicit_suspended_wins_over_the_schedule(suspended: bool) -> None:
    for now in ("2026-06-10T12:00:00", "2026-06-10T22:00:00", "2026-06-13T12:00:00"):
        assert wish(suspended, BERLIN_WORKDAYS, utc(now)) == Wish(suspended=suspended, source="spec")


def test_a_working_day_runs_from_the_morning_to_the_evening() -> None:
    # Wednesday 2026-06-10, Berlin summer time (UTC+2): 07:00 local = 05:00Z, 20:00 local = 18:00Z
    assert wish(None, BERLIN_WORKDAYS, utc("2026-06-10T10:00:00")) == Wish(
        suspended=False,
        source="schedule",
        last=resume_at("2026-06-10T05:00:00"),
        next=suspend_at("2026-06-10T18:00:00"),
    )
    night = wish(None, BERLIN_WORKDAYS, utc("2026-06-10T21:00:00"))
    assert night.suspended and night.last == suspend_at("2026-06-10T18:00:00")
    assert night.next == resume_at("2026-06-11T05:00:00")


def test_the_transition_time_itself_already_has_the_new_wish() -> None:
    assert wish(None, BERLIN_WORKDAYS, utc("2026-06-10T18:00:00")).suspended
    assert not wish(None, BERLIN_WORKDAYS, utc("2026-06-10T17:59:59.999999")).suspended
    assert wish(None, BERLIN_WORKDAYS, utc("2026-06-10T18:00:00.5")).suspended


def test_a_transition_missed_while_the_operator_was_stopped_still_decides() -> None:
    # stopped from 19:00 to 23:30 local: the 20:00 suspend happened meanwhile
    late = wish(None, BERLIN_WORKDAYS, utc("2026-06-10T21:30:00"))
    assert late.suspended and late.last == suspend_at("2026-06-10T18:00:00")
    # stopped over a whole weekend: Friday's suspend is still the most recent transition on Sunday
    sunday = wish(None, BERLIN_WORKDAYS, utc("2026-06-14T12:00:00"))
    assert sunday.suspended and sunday.last == suspend_at("2026-06-12T18:00:00")
    assert sunday.next == resume_at("2026-06-15T05:00:00")


def test_next_is_the_next_change_not_the_next_fire() -> None:
    # suspend every evening, resume only on working days: Saturday's suspend changes nothing
    daily_suspend = Schedule("0 20 * * *", WEEKDAY_MORNINGS, "UTC")
    friday_night = wish(None, daily_suspend, utc("2026-06-12T21:00:00"))
    assert friday_night.suspended
    assert friday_night.next == resume_at("2026-06-15T07:00:00")  # Monday, not Saturday 20:00
    saturday = wish(None, daily_suspend, utc("2026-06-13T21:00:00"))
    assert saturday.suspended and saturday.last == suspend_at("2026-06-13T20:00:00")


def test_resume_wins_when_both_fire_at_once() -> None:
    # both at 07:00 on working days: the endpoint runs; on weekends only the suspend fires
    schedule = Schedule("0 7 * * *", WEEKDAY_MORNINGS)
    monday = wish(None, schedule, utc("2026-06-15T07:00:00"))
    assert not monday.suspended and monday.last == resume_at("2026-06-15T07:00:00")
    assert monday.next == suspend_at("2026-06-20T07:00:00")  # Saturday: the tied ones are skipped
    assert wish(None, schedule, utc("2026-06-20T07:00:00")).suspended


def test_days_of_tied_suspends_every_few_minutes_still_find_the_next_change() -> None:
    # run on working days by re-asserting both every 5 minutes: Monday's next change is Saturday 00:00,
    # behind 1,440 suspends a resume cancels (1,000 suspends were looked at before, so none was found)
    schedule = Schedule("*/5 * * * *", "*/5 * * * 1-5")
    monday = wish(None, schedule, utc("2026-12-07T09:00:00"))
    assert not monday.suspended
    assert monday.next == suspend_at("2026-12-12T00:00:00")


def test_a_schedule_whose_suspends_always_tie_never_changes() -> None:
    schedule = Schedule("0 7 * * 1-5", "0 7 * * *")
    result = wish(None, schedule, utc("2026-06-15T12:00:00"))
    assert result == Wish(False, "schedule", last=resume_at("2026-06-15T07:00:00"), next=None)


def test_a_schedule_that_never_fired_yet_runs() -> None:
    # 29 February on a Monday, or any Monday in February (cron's day-of-month OR day-of-week): it has fired
    result = wish(None, Schedule("0 0 29 2 1", "0 12 29 2 1"), utc("2026-06-15T12:00:00"))
    assert result.last is not None
    assert result.next is not None and result.next.at.month == 2


def test_transition_as_status() -> None:
    assert suspend_at("2026-06-10T18:00:00").status() == {"action": "suspend", "at": "2026-06-10T18:00:00Z"}


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        wish(None, BERLIN_WORKDAYS, datetime(2026, 6, 10, 12))


# --- daylight saving time ----------------------------------------------------------------------------------


def test_berlin_spring_forward_gap_fires_when_the_clock_jumps() -> None:
    # 2026-03-29: 02:00 CET -> 03:00 CEST, so 02:30 does not exist; cron runs it at 03:00 CEST = 01:00Z
    schedule = Schedule("30 2 * * *", "0 12 * * *", "Europe/Berlin")
    before = wish(None, schedule, utc("2026-03-29T00:30:00"))  # 01:30 CET
    assert not before.suspended and before.next == suspend_at("2026-03-29T01:00:00")
    at_jump = wish(None, schedule, utc("2026-03-29T01:00:00"))
    assert at_jump.suspended and at_jump.last == suspend_at("2026-03-29T01:00:00")
    assert at_jump.next == resume_at("2026-03-29T10:00:00")  # 12:00 CEST
    # the days around it: 02:30 CET (01:30Z) before, 02:30 CEST (00:30Z) after
    assert wish(None, schedule, utc("2026-03-28T02:00:00")).last == suspend_at("2026-03-28T01:30:00")
    assert wish(None, schedule, utc("2026-03-30T01:00:00")).last == suspend_at("2026-03-30T00:30:00")


def test_berlin_fall_back_repeat_fires_once_at_the_first() -> None:
    # 2026-10-25: 03:00 CEST -> 02:00 CET, so 02:00-02:59 happens twice (00:00-00:59Z and 01:00-01:59Z)
    schedule = Schedule("30 2 * * *", "15 2 * * *", "Europe/Berlin")
    assert wish(None, schedule, utc("2026-10-25T00:20:00")).next == suspend_at("2026-10-25T00:30:00")
    for inside_the_second_pass in ("2026-10-25T01:20:00", "2026-10-25T01:40:00"):
        # 02:15 and 02:30 come again on the clock, but neither fires again
        result = wish(None, schedule, utc(inside_the_second_pass))
        assert result.suspended, inside_the_second_pass
        assert result.last == suspend_at("2026-10-25T00:30:00")
        assert result.next == resume_at("2026-10-26T01:15:00")  # 02:15 CET the next day


def test_new_york_fall_back_a_time_in_the_repeated_hour_is_not_taken_for_the_earlier_one() -> None:
    # 2026-11-01: 02:00 EDT -> 01:00 EST. Suspend 01:00 EDT (05:00Z), resume 01:30 EDT (05:30Z).
    schedule = Schedule("0 1 * * *", "30 1 * * *", "America/New_York")
    assert wish(None, schedule, utc("2026-11-01T05:10:00")).suspended
    # 01:10 EST (06:10Z) reads like 01:10 on the clock, between the two: still running, resumed at 05:30Z
    second_pass = wish(None, schedule, utc("2026-11-01T06:10:00"))
    assert not second_pass.suspended and second_pass.last == resume_at("2026-11-01T05:30:00")
    assert second_pass.next == suspend_at("2026-11-02T06:00:00")  # 01:00 EST the next day


def test_new_york_spring_forward_gap() -> None:
    # 2026-03-08: 02:00 EST -> 03:00 EDT; 02:30 runs at 03:00 EDT = 07:00Z
    schedule = Schedule("30 2 * * *", "0 9 * * *", "America/New_York")
    assert wish(None, schedule, utc("2026-03-08T06:59:59")).next == suspend_at("2026-03-08T07:00:00")
    assert wish(None, schedule, utc("2026-03-09T07:00:00")).last == suspend_at("2026-03-09T06:30:00")


def test_half_hour_changes_lord_howe() -> None:
    # 2026-04-05 02:00 LHDT (UTC+11) -> 01:30 LHST (UTC+10:30): the day after, 00:00 is 13:30Z again
    schedule = Schedule("*/10 1,2,3 * * *", "*/10 0 * * *", "Australia/Lord_Howe")
    assert wish(None, schedule, utc("2026-04-04T15:00:00")).next == resume_at("2026-04-05T13:30:00")


def test_hourly_expressions_fire_in_both_passes_of_the_repeated_hour() -> None:
    # `*` in the hour field: every real hour, so 01:00 EDT (05:00Z) and 01:00 EST (06:00Z) both fire
    schedule = Schedule("0 * * * *", "30 * * * *", "America/New_York")
    assert wish(None, schedule, utc("2026-11-01T06:10:00")).last == suspend_at("2026-11-01T06:00:00")
    assert wish(None, schedule, utc("2026-11-01T05:40:00")).next == suspend_at("2026-11-01T06:00:00")


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "field", "words"),
    [
        (Schedule("0 25 * * *", "0 7 * * *"), "spec.schedule.suspend", "Bad hour"),
        (Schedule("0 20 * * *", "0 7 * *"), "spec.schedule.resume", "has 4 fields"),
        (Schedule("0 0 20 * * *", "0 7 * * *"), "spec.schedule.suspend", "has 6 fields"),
        (Schedule("0 20 * * MON-FRY", "0 7 * * *"), "spec.schedule.suspend", "not a valid cron expression"),
        (Schedule("0 20 * * *", "0 7 30 2 *"), "spec.schedule.resume", "Bad day-of-month"),
        (
            Schedule("0 20 * * *", "0 7 * * *", "Europe/Berln"),
            "spec.schedule.timeZone",
            "not an IANA time zone",
        ),
        (Schedule("0 20 * * *", "0 7 * * *", "../etc/passwd"), "spec.schedule.timeZone", "not an IANA"),
        (Schedule("0 20 * * *", "0 7 * * *", "localtime"), "spec.schedule.timeZone", "not an IANA"),
    ],
)
def test_an_unusable_schedule_names_the_field(schedule: Schedule, field: str, words: str) -> None:
    for suspended in (None, True):  # also while spec.suspended overrides it
        with pytest.raises(ScheduleError) as info:
            wish(suspended, schedule, utc("2026-06-10T12:00:00"))
        assert info.value.field == field
        assert str(info.value).startswith(f"{field}: ") and words in str(info.value)


def test_checks_accept_what_cron_users_write() -> None:
    for expression in (
        "0 20 * * 1-5",
        "*/15 8-18 * * MON-FRI",
        "0 0 1 JAN,JUL *",
        "0 0 L * *",
        "0 9 * * 1#1",
    ):
        assert check_cron(expression, "f") == expression
    assert check_time_zone("America/Argentina/Buenos_Aires").key == "America/Argentina/Buenos_Aires"


# --- properties --------------------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"]
# Daylight saving changes of 2026 (UTC) in those zones, to draw times close to them.
DST_CHANGES = [
    utc(t)
    for t in (
        "2026-03-29T01:00:00",  # Europe/Berlin forward
        "2026-10-25T01:00:00",  # Europe/Berlin back
        "2026-03-08T07:00:00",  # America/New_York forward
        "2026-11-01T06:00:00",  # America/New_York back
        "2026-04-04T15:00:00",  # Australia/Lord_Howe back (30 min)
        "2026-10-03T15:30:00",  # Australia/Lord_Howe forward (30 min)
        "2026-04-04T14:00:00",  # Pacific/Chatham back
        "2026-09-26T14:00:00",  # Pacific/Chatham forward
    )
]

minutes = st.integers(0, 59).map(str)
hours = st.one_of(st.integers(0, 23).map(str), st.just("1,2,3"), st.just("*"))
weekdays = st.sampled_from(["*", "1-5", "0,6", "3"])
expressions = st.one_of(
    st.builds(lambda m, h, d: f"{m} {h} * * {d}", minutes, hours, weekdays),
    st.builds(lambda k, h: f"*/{k} {h} * * *", st.sampled_from([10, 15, 30]), hours),
    st.builds(lambda m, k: f"{m} */{k} * * *", minutes, st.sampled_from([2, 3, 6])),
    st.builds(lambda m, h, dom: f"{m} {h} {dom} * *", minutes, st.integers(0, 23), st.integers(1, 31)),
)
schedules = st.builds(Schedule, expressions, expressions, st.sampled_from(ZONES)).filter(
    lambda s: s.suspend != s.resume
)
uniform_times = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.just(UTC)
)
near_dst = st.builds(
    lambda change, seconds: change + timedelta(seconds=seconds),
    st.sampled_from(DST_CHANGES),
    st.integers(-4 * 3600, 4 * 3600),
)
times = st.one_of(uniform_times.map(lambda t: t.replace(microsecond=0)), near_dst)


@settings(max_examples=150, deadline=None)
@given(schedules, times)
def test_property_the_wish_right_at_a_transition_is_that_transitions(
    schedule: Schedule, now: datetime
) -> None:
    current = wish(None, schedule, now)
    if current.last is not None:
        assert current.last.at <= now
        assert current.suspended == (current.last.action == "suspend")
        assert wish(None, schedule, current.last.at).last == current.last
    if current.next is not None:
        assert current.next.at > now
        assert current.next.action == ("resume" if current.suspended else "suspend")
        after = wish(None, schedule, current.next.at)
        assert after.suspended == (current.next.action == "suspend")
        assert after.last == current.next
        # nothing changes the wish before it
        assert wish(None, schedule, current.next.at - timedelta(seconds=1)).suspended == current.suspended


@settings(max_examples=60, deadline=None)
@given(schedules, times)
def test_property_successive_transitions_alternate_and_move_forward(
    schedule: Schedule, now: datetime
) -> None:
    current = wish(None, schedule, now)
    moment, suspended = now, current.suspended
    for _ in range(4):
        step = wish(None, schedule, moment)
        assert step.suspended == suspended
        if step.next is None:
            break
        assert step.next.at > moment
        moment, suspended = step.next.at, not suspended


@settings(max_examples=40, deadline=None)
@given(schedules, times, st.booleans())
def test_property_an_explicit_suspended_always_wins(
    schedule: Schedule, now: datetime, suspended: bool
) -> None:
    assert wish(suspended, schedule, now) == Wish(suspended=suspended, source="spec")


def brute_force_fires(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Every minute of [start, end) at which cron fires `expression`, found by reading `zone`'s clock minute
    by minute: a wall time that matches fires; in a repeated hour an expression with `*` in its minute or hour
    fires in both passes, a fixed time only in the first; a fixed time a spring-forward gap skips fires when
    the gap ends."""
    fields = CronSim(expression, datetime(2000, 1, 1))  # its parsed fields, to match wall times against

    def matches(wall: datetime) -> bool:
        return (
            wall.minute in fields.minutes
            and wall.hour in fields.hours
            and wall.month in fields.months
            and fields.match_day(wall.date())
        )

    fixed_time = not any(part.startswith("*") for part in expression.split()[:2])
    found, moment, offset = [], start.replace(second=0, microsecond=0), None
    while moment < end:
        local = moment.astimezone(zone)
        wall = local.replace(tzinfo=None)
        first_pass = wall.replace(tzinfo=zone, fold=0).astimezone(UTC) == moment
        if matches(wall) and (first_pass or not fixed_time):
            found.append(moment)
        elif fixed_time and offset is not None and local.utcoffset() > offset:  # a gap ended just now
            skipped = local.utcoffset() - offset  # type: ignore[operator]
            gap = (wall - skipped + timedelta(minutes=i) for i in range(int(skipped.total_seconds()) // 60))
            if any(matches(w) for w in gap):
                found.append(moment)
        offset = local.utcoffset()
        moment += timedelta(minutes=1)
    return found


DST_ZONES = {
    "Europe/Berlin": DST_CHANGES[0:2],
    "America/New_York": DST_CHANGES[2:4],
    "Australia/Lord_Howe": DST_CHANGES[4:6],
    "Pacific/Chatham": DST_CHANGES[6:8],
}
near_a_change = st.builds(
    lambda zone, index, minutes: (zone, DST_ZONES[zone][index] + timedelta(minutes=minutes, seconds=7)),
    st.sampled_from(sorted(DST_ZONES)),
    st.integers(0, 1),
    st.integers(-6 * 60, 6 * 60),
)


@settings(max_examples=150, deadline=None)
@given(expressions, near_a_change)
def test_property_fire_times_near_daylight_saving_changes_are_crons(
    expression: str, case: tuple[str, datetime]
) -> None:
    name, now = case
    zone = ZoneInfo(name)
    window = timedelta(hours=30)
    expected = brute_force_fires(expression, zone, now - window, now + window)
    after = [at for at in expected if at > now][:4]
    iterator = fires_after(expression, zone, now)
    assert [next(iterator) for _ in after] == after
    before = [at for at in expected if at <= now]
    if before:
        assert last_fire(expression, zone, now) == before[-1]
