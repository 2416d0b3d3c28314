"""The pass driver (runtime/engine.py) with a kind that is not about speech (runtime_fakes.GADGET): what it
does for every kind, whatever the kind's plan asks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.conditions import find_condition
from azure_speech_operator.reconcile import (
    Export,
    MarkCreatePending,
    Outcome,
    Pass,
    RecordEndpointId,
    Trigger,
)
from azure_speech_operator.runtime.engine import CredentialsUnavailable, run_pass

from tests.unit.runtime_fakes import GADGET, FakeAzure, GadgetObserved, Poke, build_gadget, gadget

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
NO_KEY = OperatorError("CredentialsNotFound", "Secret 'creds' not found", ErrorClass.BLOCKED)


@dataclass
class Writer:
    """The resource's direct writes, in order; `fail` makes the next one raise."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    fail: OperatorError | None = None

    def _call(self, name: str, argument: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.calls.append((name, argument))

    async def mark_create_pending(self, *, forget_endpoint_id: bool) -> None:
        self._call("mark", forget_endpoint_id)

    async def clear_create_pending(self) -> None:
        self._call("clear", None)

    async def record_endpoint_id(self, endpoint_id: str) -> None:
        self._call("record", endpoint_id)

    async def export(self, config_map_name: str, data: Mapping[str, str]) -> None:
        self._call("export", config_map_name)

    async def unexport(self, config_map_name: str) -> None:
        self._call("unexport", config_map_name)

    async def note(self, changes: Mapping[str, str | None], why: str) -> None:
        self._call("note", dict(changes))


@dataclass
class Run:
    """One pass of a gadget with `script`; counts the connections and the steps it is told about."""

    azure: FakeAzure = field(default_factory=FakeAzure)
    writer: Writer = field(default_factory=Writer)
    connect_error: Exception | None = None
    connects: int = 0
    told: list[object] = field(default_factory=list)

    async def connect(self) -> FakeAzure:
        self.connects += 1
        if self.connect_error is not None:
            raise self.connect_error
        return self.azure

    async def __call__(self, *script: str, kind: Any = GADGET) -> tuple[Outcome, GadgetObserved]:
        resource = build_gadget(gadget("team-a", "g", *script))
        pass_ = Pass(trigger=Trigger.CHANGE, now=T0)
        return await run_pass(
            kind, resource, pass_, connect=self.connect, writer=self.writer, on_step=self.told.append
        )


def stalled_reason(outcome: Outcome) -> str | None:
    condition = find_condition(outcome.status["conditions"], "Stalled")
    return condition.reason if condition.status == "True" else None


async def test_steps_run_in_the_plans_order_and_each_result_is_folded_in() -> None:
    run = Run()
    outcome, observed = await run("poke:a", "record:e-1", "export:cm", "poke:b")
    assert isinstance(observed, GadgetObserved)  # the kind's own record of the pass
    assert observed.poked == ("a", "b") and observed.recorded_id == "e-1" and observed.exported
    assert run.azure.pokes == ["a", "b"]
    assert run.writer.calls == [("record", "e-1"), ("export", "cm")]
    assert run.told == [Poke("a"), RecordEndpointId("e-1"), Export("cm", {"gadget": "yes"}), Poke("b")]
    assert find_condition(outcome.status["conditions"], "Ready").status == "True"
    assert run.connects == 1  # one connection per pass, made when the first step needs Azure


async def test_a_pass_on_the_resource_alone_never_reads_credentials() -> None:
    run = Run(connect_error=CredentialsUnavailable(NO_KEY))
    outcome, observed = await run("record:e-1", "export:cm", "unexport:old")
    assert run.connects == 0
    assert observed.credentials_error is None and stalled_reason(outcome) is None
    assert [name for name, _ in run.writer.calls] == ["record", "export", "unexport"]


async def test_the_mark_connects_first_so_missing_credentials_leave_no_mark() -> None:
    run = Run(connect_error=CredentialsUnavailable(NO_KEY))
    outcome, observed = await run("mark", "poke:a")
    assert observed.credentials_error is NO_KEY
    assert run.writer.calls == [] and not observed.marked
    assert run.told == []  # nothing was taken: no log line may claim it
    assert stalled_reason(outcome) == "CredentialsNotFound"


async def test_a_mark_after_an_azure_step_needs_no_new_connection() -> None:
    run = Run()
    _, observed = await run("poke:a", "mark:forget", "poke:b")
    assert run.connects == 1
    assert run.writer.calls == [("mark", True)]
    assert observed.marked and observed.forgot_id
    assert run.told[1] == MarkCreatePending(forget_endpoint_id=True)


async def test_a_connection_that_fails_otherwise_is_the_error_of_the_step_that_needed_it() -> None:
    refused = OperatorError("HostNotAllowed", "not on the allow-list", ErrorClass.BLOCKED)
    run = Run(connect_error=refused)
    outcome, observed = await run("poke:a")
    assert (observed.error, observed.failed_step) == (refused, "Poke")
    assert observed.credentials_error is None
    assert stalled_reason(outcome) == "HostNotAllowed"


async def test_an_error_of_a_step_ends_the_pass_naming_the_step() -> None:
    throttled = OperatorError("TooManyRequests", "slow down", ErrorClass.TRANSIENT)
    run = Run()
    run.azure.fail["b"] = throttled
    _, observed = await run("poke:a", "poke:b", "poke:c")
    assert (observed.error, observed.failed_step) == (throttled, "Poke")
    assert run.azure.pokes == ["a"]

    forbidden = OperatorError("KubernetesForbidden", "may not patch", ErrorClass.BLOCKED)
    run = Run(writer=Writer(fail=forbidden))
    _, observed = await run("export:cm", "poke:a")
    assert (observed.error, observed.failed_step) == (forbidden, "Export")
    assert run.azure.pokes == []


async def test_a_bug_in_a_kinds_step_is_not_swallowed() -> None:
    async def broken(step: Any, observed: GadgetObserved, azure: FakeAzure) -> GadgetObserved:
        raise TypeError("not a step of this kind")

    with pytest.raises(TypeError):
        await Run()("poke:a", kind=replace(GADGET, run_step=broken))


async def test_a_plan_that_never_settles_is_a_bug_naming_the_object() -> None:
    def restless(resource: Any, observed: GadgetObserved, pass_: Pass) -> Poke:
        return Poke("again")

    with pytest.raises(RuntimeError, match="team-a/g did not settle"):
        await Run()(kind=replace(GADGET, plan=restless))
