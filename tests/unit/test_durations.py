"""Polling by how long Azure's recent actions took (runtime/durations.py, reconcile.poll_delay)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azure_speech_operator.reconcile import CLOSE_UNTIL, Pass, Timing, Trigger, poll_delay
from azure_speech_operator.runtime.durations import LONGEST, REMEMBERED, Durations
from hypothesis import given
from hypothesis import strategies as st

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TIMING = Timing(deploy_poll_interval=timedelta(seconds=15))


def pass_at(elapsed: float, expected: dict[str, float], jitter: float = 0.5) -> Pass:
    return Pass(
        trigger=Trigger.CHANGE,
        now=T0 + timedelta(seconds=elapsed),
        timing=TIMING,
        jitter=jitter,
        expected=expected,
    )


def test_the_median_of_the_last_durations_of_each_kind_and_action_is_expected() -> None:
    durations = Durations()
    for seconds in (30.0, 31.0, 90.0):
        durations.record("VoiceEndpoint", "create", seconds)
    durations.record("VoiceEndpoint", "suspend", 8.0)
    durations.record("SpeechEndpoint", "create", 500.0)
    assert durations.expected("VoiceEndpoint") == {"create": 31.0, "suspend": 8.0}
    for _ in range(REMEMBERED):
        durations.record("VoiceEndpoint", "create", 60.0)
    assert durations.expected("VoiceEndpoint")["create"] == 60.0  # only the last ones count


def test_a_duration_that_is_no_guide_is_not_recorded() -> None:
    durations = Durations()
    for seconds in (0.0, -3.0, LONGEST + 1):
        durations.record("VoiceEndpoint", "create", seconds)
    assert durations.expected("VoiceEndpoint") == {}


def test_with_nothing_learned_the_rule_is_a_quarter_of_the_time_waited() -> None:
    assert poll_delay(T0, None, pass_at(200, {}), "create") == 50.0
    assert poll_delay(T0, None, pass_at(200, {"suspend": 100.0}), "create") == 50.0  # another action's
    assert poll_delay(T0, 7.0, pass_at(200, {"create": 100.0}), "create") == 7.0  # Retry-After first


def test_an_action_is_looked_at_just_after_the_time_such_actions_took() -> None:
    expected = {"create": 100.0}
    due = 100.0 * 1.02  # 1-3 % after, 2 % at jitter 0.5
    assert poll_delay(T0, None, pass_at(10, expected), "create") == 5.0  # early on: the rule
    assert abs(poll_delay(T0, None, pass_at(95, expected), "create") - (due - 95)) < 1e-9
    # just after it: every sixteenth of the time waited (at least the floor) up to 1.25 x
    assert abs(poll_delay(T0, None, pass_at(due, expected), "create") - due / 16) < 1e-9
    assert poll_delay(T0, None, pass_at(130, expected), "create") == 32.5  # then the rule again


@given(
    elapsed=st.floats(min_value=0, max_value=20_000),
    expected=st.floats(min_value=1, max_value=LONGEST),
    jitter=st.floats(min_value=0, max_value=0.999),
)
def test_what_was_learned_only_ever_brings_a_look_forward(
    elapsed: float, expected: float, jitter: float
) -> None:
    plain = poll_delay(T0, None, pass_at(elapsed, {}, jitter), "create")
    learned = poll_delay(T0, None, pass_at(elapsed, {"create": expected}, jitter), "create")
    assert 1.0 <= learned <= plain
    due = expected * 1.03
    if elapsed < expected:
        assert elapsed + learned <= max(due, elapsed + 1.0) + 1e-6  # the look after the expected end is kept
    if elapsed >= CLOSE_UNTIL * expected:
        assert learned == plain
