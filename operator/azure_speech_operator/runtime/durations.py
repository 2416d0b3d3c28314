"""How long Azure's recent operations took, by kind and action, so polling can look when one is due.

An API that sends no Retry-After (custom voice) leaves the operator to guess when a deployment ends; the
polling rule alone (a quarter of the time waited) notices it up to a quarter of its duration late. The
operations of one fleet take about as long as each other, so the median of the last few that ended (Azure's
own times: `lastActionDateTime` of the state reached minus the start) is a good moment for one look
(reconcile.poll_delay). Kept in this process only: a restart learns again from the next operations.
"""

from __future__ import annotations

from collections import deque
from statistics import median
from typing import Final

# enough to follow a fleet's drift (a region slower today) without one odd operation moving the median
REMEMBERED: Final = 15
# an operation that took longer than this is no guide to the next (an Azure incident, a stuck queue)
LONGEST: Final = 6 * 3600.0


class Durations:
    """The last REMEMBERED durations (seconds) of each (kind, action)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def record(self, kind: str, action: str, seconds: float) -> None:
        if not 0 < seconds <= LONGEST:
            return
        self._seen.setdefault((kind, action), deque(maxlen=REMEMBERED)).append(seconds)

    def expected(self, kind: str) -> dict[str, float]:
        """The median duration of each action of `kind` seen ended in this process."""
        return {action: median(seen) for (k, action), seen in self._seen.items() if k == kind}
