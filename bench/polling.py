"""The deployment polling rule in numbers: for deployments of D seconds, how many reads the operator makes
and how late it notices the end, with the rule in reconcile.poll_delay (a quarter of the time waited, at
least a third of --deploy-poll-interval) against the old one (the poll interval, then doubling). Pure
arithmetic on the operator's own functions: `python -m bench.polling`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from azure_speech_operator.reconcile import Pass, Timing, Trigger, backoff, poll_delay

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Polls:
    reads: int
    lag: float  # seconds between the end of the deployment and the read that sees it


def simulate(duration: float, delay: Callable[[float, int], float]) -> Polls:
    """Reads of a deployment of `duration` seconds that starts at 0, `delay(elapsed, n)` apart."""
    now, reads = 0.0, 0
    while True:
        now += delay(now, reads)
        reads += 1
        if now >= duration:
            return Polls(reads, now - duration)


def new_rule(timing: Timing) -> Callable[[float, int], float]:
    def delay(elapsed: float, _: int) -> float:
        pass_ = Pass(Trigger.CHANGE, START + timedelta(seconds=elapsed), timing, jitter=0.5)
        return poll_delay(START, None, pass_)

    return delay


def old_rule(timing: Timing) -> Callable[[float, int], float]:
    def delay(_: float, reads: int) -> float:
        return backoff(
            reads,
            timing.deploy_poll_interval.total_seconds(),
            timing.transient_backoff_cap.total_seconds(),
            0.5,
        )

    return delay


def table(durations: tuple[float, ...] = (10, 30, 100, 1800), interval: float = 15.0) -> list[str]:
    timing = Timing(deploy_poll_interval=timedelta(seconds=interval))
    lines = [
        f"deploy poll interval {interval:g} s",
        f"{'deployment':>12} {'reads (new)':>12} {'lag (new)':>10} {'reads (old)':>12} {'lag (old)':>10}",
    ]
    for duration in durations:
        new, old = simulate(duration, new_rule(timing)), simulate(duration, old_rule(timing))
        lines.append(f"{duration:>10g} s {new.reads:>12} {new.lag:>8.1f} s {old.reads:>12} {old.lag:>8.1f} s")
    return lines


def main() -> int:
    for interval in (15.0, 2.0):
        print("\n".join(table(interval=interval)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
