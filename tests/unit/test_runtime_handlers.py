"""Who polls a deployment: the kopf handler's come-back or the drift loop, never both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import kopf
import pytest
from azure_speech_operator.reconcile import Outcome, Retry
from azure_speech_operator.runtime.handlers import HANDLER_LATENESS, _come_back, handler_polls

T0 = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)


def ctx_at(now: datetime) -> SimpleNamespace:
    return SimpleNamespace(now=lambda: now)


def outcome(delay: float | None, *, stalled: bool = False) -> Outcome:
    conditions = [{"type": "Stalled", "status": "True" if stalled else "False", "reason": "X"}]
    return Outcome(status={"conditions": conditions}, retry=Retry(delay, "why") if delay else None)


def test_a_short_come_back_is_the_handlers_and_the_drift_loop_stands_aside() -> None:
    memo = SimpleNamespace()
    with pytest.raises(kopf.TemporaryError):
        _come_back(ctx_at(T0), memo, outcome(30.0))  # type: ignore[arg-type]
    assert handler_polls(memo, T0 + timedelta(seconds=29))
    assert handler_polls(memo, T0 + timedelta(seconds=30) + HANDLER_LATENESS)
    # a come-back kopf never ran stops counting: the drift loop takes the polling over
    assert not handler_polls(memo, T0 + timedelta(seconds=31) + HANDLER_LATENESS)


def test_a_finished_handler_leaves_the_polling_to_the_drift_loop() -> None:
    memo = SimpleNamespace()
    with pytest.raises(kopf.TemporaryError):
        _come_back(ctx_at(T0), memo, outcome(30.0))  # type: ignore[arg-type]
    _come_back(ctx_at(T0 + timedelta(seconds=30)), memo, outcome(None))  # type: ignore[arg-type]
    assert not handler_polls(memo, T0 + timedelta(seconds=31))


@pytest.mark.parametrize(("delay", "stalled"), [(600.0, False), (30.0, True)])
def test_slow_or_stalled_come_backs_go_to_the_drift_loop(delay: float, stalled: bool) -> None:
    memo = SimpleNamespace()
    _come_back(ctx_at(T0), memo, outcome(delay, stalled=stalled))  # type: ignore[arg-type]
    assert memo.drift_due == T0 + timedelta(seconds=delay)
    assert not handler_polls(memo, T0)


def test_a_memo_without_a_come_back_never_defers_the_drift_loop() -> None:
    assert not handler_polls(SimpleNamespace(), T0)
