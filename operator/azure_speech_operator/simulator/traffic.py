"""What happens to requests on the way in: rate limits, injected faults, and the request log.

Random faults are a pure function of (seed, operation, per-endpoint request counter), so a run with the same
seed and the same requests replays exactly. Scripted faults (`POST /_sim/faults`) come first.
"""

from __future__ import annotations

import difflib
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .config import FaultKind, RateLimit, SimulatorConfig
from .state import unit_float


class FaultRule(BaseModel):
    """A scripted fault: the next `count` matching requests get `kind`, before or after they take effect."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    operation: str | None = None
    resource: str | None = None
    endpoint_id: str | None = Field(default=None, alias="endpointId")
    kind: FaultKind
    phase: Literal["before", "after"] = "before"
    count: int = Field(default=1, ge=1)

    def matches(self, operation: str, resource: str, endpoint_id: str | None) -> bool:
        return (
            (self.operation is None or self.operation == operation)
            and (self.resource is None or self.resource == resource)
            and (self.endpoint_id is None or self.endpoint_id == endpoint_id)
        )


# Kinds that can strike after a write took effect: the network or a front end loses an answer the service
# already gave. 429 and 503 are refusals, so they always come before; `slow` looks the same either way.
LOST_ANSWER_KINDS: frozenset[FaultKind] = frozenset({"500", "502", "timeout", "reset", "malformed"})


class Fault(BaseModel):
    kind: FaultKind
    phase: Literal["before", "after"]
    scripted: bool


class FaultPlan:
    def __init__(self, config: SimulatorConfig, operations: Iterable[str] = ()) -> None:
        self.config = config
        self.operations = frozenset(operations)  # the names requests are counted under; empty: unchecked
        self.rules: list[FaultRule] = []
        self._counters: dict[tuple[str, str], int] = defaultdict(int)

    def check(self, rule: FaultRule) -> None:
        """A ValueError when the rule could never fire: an operation the simulator does not serve, or a
        resource it does not host."""
        if self.operations and rule.operation is not None and rule.operation not in self.operations:
            raise ValueError(
                f"unknown operation {rule.operation!r}; {_suggest(rule.operation, self.operations)}"
            )
        resources = [r.name for r in self.config.resources]
        if rule.resource is not None and rule.resource not in resources:
            raise ValueError(
                f"unknown resource {rule.resource!r}; the simulator hosts {', '.join(resources)}"
            )

    def add(self, rule: FaultRule) -> None:
        self.check(rule)
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def draw(
        self, operation: str, resource: str, endpoint_id: str | None, *, write: bool = False
    ) -> Fault | None:
        """The fault for this request, if any. A random lost-answer fault on a write (`write`: not a GET)
        strikes after the write took effect half of the time, drawn like the fault itself."""
        for rule in self.rules:
            if rule.matches(operation, resource, endpoint_id):
                rule.count -= 1
                if rule.count == 0:
                    self.rules.remove(rule)
                return Fault(kind=rule.kind, phase=rule.phase, scripted=True)
        rate = self.config.fault_rate
        if rate <= 0 or not self.config.fault_kinds:
            return None
        key = (operation, endpoint_id or "")
        self._counters[key] += 1
        n = self._counters[key]
        seed = self.config.seed
        if unit_float(seed, "fault", operation, key[1], n) >= rate:
            return None
        kinds = self.config.fault_kinds
        kind = kinds[int(unit_float(seed, "kind", operation, key[1], n) * len(kinds))]
        after = write and kind in LOST_ANSWER_KINDS and unit_float(seed, "phase", operation, key[1], n) < 0.5
        return Fault(kind=kind, phase="after" if after else "before", scripted=False)


def _suggest(name: str, known: frozenset[str]) -> str:
    """The known names that look like `name` (same operationId in another family first), else all."""
    tail = name.rsplit(".", 1)[-1]
    close = sorted(k for k in known if k.rsplit(".", 1)[-1] == tail)
    close += [k for k in difflib.get_close_matches(name, sorted(known), n=5, cutoff=0.6) if k not in close]
    if close:
        return f"did you mean {', '.join(close)}?"
    return f"known operations: {', '.join(sorted(known))}"


class RateLimiter:
    """A sliding window per resource, in real (monotonic) seconds whatever the time scale."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._windows: dict[str, deque[float]] = {}

    def reset(self) -> None:
        self._windows.clear()

    def check(self, resource: str, limit: RateLimit) -> float | None:
        """None when the request may pass (and is counted); else the seconds until a slot frees up."""
        if limit.requests == 0:
            return None
        now = self._monotonic()
        window = self._windows.setdefault(resource, deque())
        # One expression decides both when a slot frees and how long the caller is told to wait: computing
        # `window[0] <= now - seconds` here and `window[0] + seconds - now` there rounds differently, and a
        # client that came back exactly after the reported wait could be refused again.
        while window and window[0] + limit.seconds <= now:
            window.popleft()
        while len(window) > limit.requests:  # the limit was lowered at run time
            window.popleft()
        if len(window) >= limit.requests:
            return _wait_until(now, window[0] + limit.seconds)
        window.append(now)
        return None


def _wait_until(now: float, frees_at: float) -> float:
    """The smallest wait (at least 1 ms) such that `now + wait` reaches `frees_at` in float arithmetic."""
    wait = max(0.001, frees_at - now)
    while now + wait < frees_at:
        wait = math.nextafter(wait, math.inf)
    return wait


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class RequestLog:
    """Counts per operation and outcome (HTTP status, or 'reset'/'timeout'), overall and per resource."""

    def __init__(self) -> None:
        self.total = 0
        self.operations: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.resources: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        self.faults: dict[str, int] = defaultdict(int)

    def record(self, operation: str, resource: str | None, outcome: str, fault: Fault | None) -> None:
        self.total += 1
        self.operations[operation][outcome] += 1
        if resource is not None:
            self.resources[resource][operation][outcome] += 1
        if fault is not None:
            self.faults[fault.kind] += 1

    def reset(self) -> None:
        self.total = 0
        self.operations.clear()
        self.resources.clear()
        self.faults.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "operations": {op: dict(c) for op, c in sorted(self.operations.items())},
            "resources": {
                r: {op: dict(c) for op, c in sorted(ops.items())} for r, ops in sorted(self.resources.items())
            },
            "faults": dict(self.faults),
        }
