"""Condition bookkeeping and the truth table (docs/speechendpoint.md, Conditions; rows for both kinds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure_speech_operator.conditions import (
    AVAILABLE,
    READY,
    RECONCILING,
    STALLED,
    SUSPENDED,
    Condition,
    Health,
    Phase,
    check_invariants,
    merge_conditions,
    safe_reason,
    transitions,
    truth_table,
)
from hypothesis import given
from hypothesis import strategies as st

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def table(health: Health, previous: list[dict[str, object]] | None = None) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in truth_table(health, previous or [])}


# One line per row of the table: (health, Ready, Available, Reconciling, Stalled, Suspended)
ROWS = [
    (Health(Phase.DEPLOYING, "Deploying"), ("False", "Deploying"), "False", "True", "False", None),
    (Health(Phase.READY, "Ready"), ("True", "Ready"), "True", "False", "False", None),
    (Health(Phase.REDEPLOYING, "Redeploying"), ("False", "Redeploying"), "True", "True", "False", None),
    (
        Health(Phase.SUSPENDING, "Suspending", suspended=False),
        ("False", "Suspending"),
        "False",
        "True",
        "False",
        "False",
    ),
    (
        Health(Phase.SUSPENDED, "Suspended", suspended=True),
        ("True", "Ready"),
        "False",
        "False",
        "False",
        "True",
    ),
    (
        Health(Phase.RESUMING, "Resuming", suspended=False),
        ("False", "Resuming"),
        "False",
        "True",
        "False",
        "False",
    ),
]


@pytest.mark.parametrize(("health", "ready", "available", "reconciling", "stalled", "suspended"), ROWS)
def test_truth_table_rows(
    health: Health,
    ready: tuple[str, str],
    available: str,
    reconciling: str,
    stalled: str,
    suspended: str | None,
) -> None:
    result = table(health)
    assert result[READY] == ready
    assert result[AVAILABLE][0] == available
    assert result[RECONCILING][0] == reconciling
    assert result[STALLED][0] == stalled
    assert (result[SUSPENDED][0] if SUSPENDED in result else None) == suspended


@pytest.mark.parametrize("was_available", ["True", "False"])
@pytest.mark.parametrize(
    ("phase", "reconciling", "stalled"), [(Phase.RETRYING, "True", "False"), (Phase.STALLED, "False", "True")]
)
def test_errors_keep_available_as_before(
    phase: Phase, reconciling: str, stalled: str, was_available: str
) -> None:
    previous = [{"type": AVAILABLE, "status": was_available, "reason": "x", "message": ""}]
    result = table(Health(phase, "TooManyRequests", "slow down"), previous)
    assert result[READY] == ("False", "TooManyRequests")
    assert result[AVAILABLE][0] == was_available
    assert result[RECONCILING][0] == reconciling
    assert result[STALLED] == (stalled, "TooManyRequests" if stalled == "True" else "NotStalled")


def test_explicit_available_wins() -> None:
    assert table(Health(Phase.DEPLOYING, "Deploying", available=True))[AVAILABLE][0] == "True"


def test_last_transition_time_moves_only_on_a_flip() -> None:
    first = merge_conditions([], [Condition(READY, "False", "Deploying")], generation=1, now=T0)
    later = T0 + timedelta(minutes=5)
    same = merge_conditions(first, [Condition(READY, "False", "Redeploying", "m")], generation=2, now=later)
    assert same[0]["lastTransitionTime"] == "2026-11-21T06:00:00Z"
    assert same[0]["observedGeneration"] == 2
    assert same[0]["reason"] == "Redeploying"
    flipped = merge_conditions(same, [Condition(READY, "True", "Ready")], generation=2, now=later)
    assert flipped[0]["lastTransitionTime"] == "2026-11-21T06:05:00Z"


def test_merge_keeps_other_conditions_and_orders_known_types() -> None:
    previous = [{"type": "Custom", "status": "True", "reason": "x", "message": "", "lastTransitionTime": "t"}]
    merged = merge_conditions(
        previous,
        [Condition(STALLED, "False", "NotStalled"), Condition(READY, "True", "Ready")],
        generation=1,
        now=T0,
    )
    assert [c["type"] for c in merged] == [READY, STALLED, "Custom"]


def test_reconciling_and_stalled_never_both_true() -> None:
    with pytest.raises(ValueError, match="both be True"):
        check_invariants([Condition(RECONCILING, "True", "a"), Condition(STALLED, "True", "b")])
    with pytest.raises(ValueError):
        merge_conditions(
            [], [Condition(RECONCILING, "True", "a"), Condition(STALLED, "True", "b")], generation=1, now=T0
        )


def test_transitions_report_status_or_reason_changes() -> None:
    before = merge_conditions([], [Condition(READY, "False", "Deploying")], generation=1, now=T0)
    after = merge_conditions(
        before, [Condition(READY, "False", "Deploying", "new message")], generation=1, now=T0
    )
    assert transitions(before, after) == []
    after = merge_conditions(before, [Condition(READY, "True", "Ready")], generation=1, now=T0)
    ((old, new),) = transitions(before, after)
    assert old is not None and old.status == "False" and new.status == "True"


@given(
    phases=st.lists(st.sampled_from(list(Phase)), min_size=1, max_size=12),
    generations=st.lists(st.integers(min_value=1, max_value=50), min_size=12, max_size=12),
    available=st.lists(st.sampled_from([None, True, False]), min_size=12, max_size=12),
)
def test_properties_over_any_sequence_of_situations(
    phases: list[Phase], generations: list[int], available: list[bool | None]
) -> None:
    conditions: list[dict[str, object]] = []
    now = T0
    for i, phase in enumerate(phases):
        health = Health(phase, "SomeReason", available=available[i])
        desired = truth_table(health, conditions)
        again = truth_table(health, conditions)
        assert desired == again  # deterministic
        now += timedelta(seconds=1)
        merged = merge_conditions(conditions, desired, generation=generations[i], now=now)
        true_types = {c["type"] for c in merged if c["status"] == "True"}
        assert not {RECONCILING, STALLED} <= true_types
        assert all(c["observedGeneration"] == generations[i] for c in merged)
        assert [c["type"] for c in merged] == [READY, AVAILABLE, RECONCILING, STALLED]
        # lastTransitionTime moves exactly when the status flips
        for old in conditions:
            new = next(c for c in merged if c["type"] == old["type"])
            moved = new["lastTransitionTime"] != old["lastTransitionTime"]
            assert moved == (new["status"] != old["status"])
        # merging the same again changes nothing (no status write)
        assert (
            merge_conditions(merged, desired, generation=generations[i], now=now + timedelta(hours=1))
            == merged
        )
        conditions = merged


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("InvalidModel", "InvalidModel"),
        ("401", "Unauthorized"),
        ("429", "TooManyRequests"),
        ("Some.Dotted-code", "SomeDottedCode"),
        ("418", "Unknown"),
        ("", "Unknown"),
        (None, "Unknown"),
    ],
)
def test_reasons_are_made_acceptable_to_the_api_server(raw: str | None, safe: str) -> None:
    assert safe_reason(raw) == safe
    merged = merge_conditions([], [Condition(READY, "False", raw or "")], generation=1, now=T0)
    assert merged[0]["reason"] == safe
