"""bench/polling.py: the polling rule notices a finished deployment within a small share of its duration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure_speech_operator.reconcile import Timing

from bench.polling import new_rule, simulate, table


@pytest.mark.parametrize("duration", [10.0, 30.0, 100.0, 600.0])
@pytest.mark.parametrize("interval", [2.0, 15.0])
def test_the_lag_is_a_share_of_the_time_waited(duration: float, interval: float) -> None:
    timing = Timing(deploy_poll_interval=timedelta(seconds=interval))
    polls = simulate(duration, new_rule(timing))
    floor = max(1.0, interval / 3)
    assert polls.lag <= max(floor, 0.25 * 1.1 * duration)
    assert polls.reads <= duration / floor + 1


def test_the_table_has_a_row_per_duration() -> None:
    lines = table(durations=(10, 30), interval=15)
    assert len(lines) == 4 and lines[2].split()[0] == "10"


@pytest.mark.parametrize("duration", [10.0, 30.0, 100.0, 600.0])
@pytest.mark.parametrize("interval", [2.0, 15.0])
def test_once_learned_the_end_is_noticed_within_a_few_percent(duration: float, interval: float) -> None:
    timing = Timing(deploy_poll_interval=timedelta(seconds=interval))
    plain = simulate(duration, new_rule(timing))
    learned = simulate(duration, new_rule(timing, expected=duration))
    assert learned.lag <= max(1.0, 0.03 * duration) + 1e-6
    assert learned.reads <= plain.reads + 1
    longer = simulate(duration * 1.1, new_rule(timing, expected=duration))
    assert longer.lag <= max(max(1.0, interval / 3), 0.25 / 4 * 1.1 * 1.1 * duration) + 1e-6
