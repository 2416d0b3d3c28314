"""What the in-memory worlds of both kinds' reconcile tests share (no tests here).

A `World` holds one resource (spec, annotations, status, generation, deletion) and a fake Azure of its kind,
and performs a pass the way the runtime does: the engine's loop with this world as the ResourceWriter, then
the status written only when it changed. A kind's world (test_speech_fakes.World, test_voice_fakes.World)
names its `KIND`, its resource's name and uid, its default spec and its fake Azure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from azure_speech_operator import reconcile
from azure_speech_operator.azure.types import OperatorError
from azure_speech_operator.reconcile import Failures, Outcome, Pass, Timing, Trigger
from azure_speech_operator.runtime.durations import Durations
from azure_speech_operator.runtime.engine import CredentialsUnavailable, run_pass
from azure_speech_operator.runtime.kind import Kind

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


@dataclass
class World:
    KIND: ClassVar[Kind[Any, Any, Any, Any]]
    NAME: ClassVar[str]
    UID: ClassVar[str]

    spec: dict[str, Any]
    azure: Any  # the kind's fake Azure: `now`, `finish()`
    annotations: dict[str, str] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    generation: int = 1
    now: datetime = T0
    has_finalizer: bool = True
    deletion_timestamp: datetime | None = None
    credentials_error: OperatorError | None = None
    credentials_final: bool = False  # the namespace is being deleted: they cannot come back
    export_error: OperatorError | None = None
    exported: dict[str, dict[str, str]] = field(default_factory=dict)
    events: list[reconcile.Event] = field(default_factory=list)
    status_writes: int = 0
    steps: list[Any] = field(default_factory=list)
    released: bool = False
    timing: Timing = field(default_factory=Timing)
    crash_after: str | None = None  # raise after this step kind (a killed operator)
    last: Outcome | None = None
    failures: Failures = field(default_factory=Failures)  # kept across passes as the runtime's memo does
    durations: Durations = field(default_factory=Durations)  # shared by the runtime's passes of a kind
    process: str = "0p"  # the operator process running the passes (a restart: another value)
    claimed: dict[str, str] = field(default_factory=dict)  # endpoints other resources own (runtime/claims.py)

    def change_spec(self, **overrides: Any) -> None:
        for key, value in overrides.items():
            if value is None:
                self.spec.pop(key, None)
            else:
                self.spec[key] = value
        self.generation += 1

    def resource(self) -> Any:
        """The resource as the kind's logic reads it, from the object the API server would answer."""
        metadata: dict[str, Any] = {
            "name": self.NAME,
            "namespace": "team-a",
            "uid": self.UID,
            "generation": self.generation,
            "annotations": dict(self.annotations),
            "finalizers": [reconcile.FINALIZER] if self.has_finalizer else [],
        }
        if self.deletion_timestamp is not None:
            metadata["deletionTimestamp"] = self.deletion_timestamp.isoformat()
        obj = {"metadata": metadata, "spec": copy.deepcopy(self.spec), "status": copy.deepcopy(self.status)}
        return self.KIND.build_resource(obj)

    # --- ResourceWriter -----------------------------------------------------------------------------------

    async def mark_create_pending(self, *, forget_endpoint_id: bool) -> None:
        if forget_endpoint_id:
            self.annotations.pop(reconcile.ENDPOINT_ID_ANNOTATION, None)
        self.annotations[reconcile.CREATE_PENDING_ANNOTATION] = f"{self.now.isoformat()} {self.process}"

    async def clear_create_pending(self) -> None:
        self.annotations.pop(reconcile.CREATE_PENDING_ANNOTATION, None)

    async def record_endpoint_id(self, endpoint_id: str) -> None:
        self.annotations[reconcile.ENDPOINT_ID_ANNOTATION] = endpoint_id
        self.annotations.pop(reconcile.CREATE_PENDING_ANNOTATION, None)

    async def note(self, changes: Mapping[str, str | None], why: str) -> None:
        for key, value in changes.items():
            if value is None:
                self.annotations.pop(key, None)
            else:
                self.annotations[key] = value

    async def export(self, config_map_name: str, data: Mapping[str, str]) -> None:
        if self.export_error is not None:
            raise self.export_error
        self.exported[config_map_name] = dict(data)

    async def unexport(self, config_map_name: str) -> None:
        if self.export_error is not None:
            raise self.export_error
        self.exported.pop(config_map_name, None)

    # --- passes -------------------------------------------------------------------------------------------

    async def _connect(self) -> Any:
        if self.credentials_error is not None:
            raise CredentialsUnavailable(self.credentials_error, final=self.credentials_final)
        return self.azure

    async def run(self, trigger: Trigger = Trigger.CHANGE, attempt: int = 0) -> Outcome:
        resource = self.resource()
        pass_ = Pass(
            trigger=trigger,
            now=self.now,
            timing=self.timing,
            attempt=attempt,
            jitter=0.5,
            failures=self.failures,
            expected=self.durations.expected(self.KIND.kind),
            process=self.process,
            claimed=self.claimed,
        )

        def record(step: Any) -> None:
            self.steps.append(step)
            if self.crash_after is not None and type(step).__name__ == self.crash_after:
                self.crash_after = None
                raise KeyboardInterrupt("operator killed")

        outcome, _ = await run_pass(
            self.KIND, resource, pass_, connect=self._connect, writer=self, on_step=record
        )
        self.failures = self.failures.after(outcome.status)
        for action, seconds in outcome.took:
            self.durations.record(self.KIND.kind, action, seconds)
        if outcome.status_changed(self.status) and not outcome.release:
            self.status = copy.deepcopy(outcome.status)
            self.status_writes += 1
        self.events.extend(outcome.events)
        self.released = outcome.release
        self.last = outcome
        return outcome

    async def settle(self, limit: int = 12) -> Outcome:
        """Passes (finishing Azure's actions in between) until one asks for no quick come-back."""
        outcome = await self.run()
        for _ in range(limit):
            if outcome.retry is None or outcome.release:
                return outcome
            self.advance(outcome.retry.delay)
            self.azure.finish()
            outcome = await self.run()
        raise AssertionError(f"did not settle: {self.status}")

    def condition(self, type_: str) -> tuple[str, str]:
        for condition in self.status.get("conditions", []):
            if condition["type"] == type_:
                return condition["status"], condition["reason"]
        raise KeyError(type_)

    def assert_row(self, ready: str, active: str) -> None:
        """The truth-table row shown: Ready True when `ready` is "Ready", else False with `ready` as
        its reason; `active` names which of Reconciling and Stalled is True ("neither": none, never both);
        all of it for the current generation."""
        assert self.condition("Ready") == ("True" if ready == "Ready" else "False", ready)
        shown = (self.condition("Reconciling")[0], self.condition("Stalled")[0])
        assert (
            shown
            == {
                "Reconciling": ("True", "False"),
                "Stalled": ("False", "True"),
                "neither": ("False", "False"),
            }[active]
        )
        assert self.status["observedGeneration"] == self.generation

    def event_reasons(self) -> list[str]:
        return [e.reason for e in self.events]

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.azure.now = self.now
