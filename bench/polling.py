"""The deployment polling rule in numbers: for deployments of D seconds, how many reads the operator makes
and how late it notices the end, with the rule in reconcile.poll_delay (a quarter of the time waited, at
least a third of --deploy-poll-interval) against the old one (the poll interval, then doubling), and with
the rule once earlier deployments of that length were seen to end ("learned": the next takes as long as
they did; "+10 %": it takes 10 % longer). Pure arithmetic on the operator's own functions:
`python -m bench.polling`."""

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


def new_rule(timing: Timing, expected: float | None = None) -> Callable[[float, int], float]:
    learned = {"create": expected} if expected else {}

    def delay(elapsed: float, _: int) -> float:
        now = START + timedelta(seconds=elapsed)
        pass_ = Pass(Trigger.CHANGE, now, timing, jitter=0.5, expected=learned)
        return poll_delay(START, None, pass_, "create")

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
    columns = ("new", "old", "learned", "+10 %")
    lines = [
        f"deploy poll interval {interval:g} s",
        f"{'deployment':>12}" + "".join(f" {f'reads ({c})':>15} {f'lag ({c})':>13}" for c in columns),
    ]
    for duration in durations:
        runs = (
            simulate(duration, new_rule(timing)),
            simulate(duration, old_rule(timing)),
            simulate(duration, new_rule(timing, expected=duration)),
            simulate(duration * 1.1, new_rule(timing, expected=duration)),
        )
        lines.append(f"{duration:>10g} s" + "".join(f" {r.reads:>15} {r.lag:>11.1f} s" for r in runs))
    return lines


def main() -> int:
    for interval in (15.0, 2.0):
        print("\n".join(table(interval=interval)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
