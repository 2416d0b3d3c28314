"""The operator's log tells what happens (issue 13, defect 5): a healthy create, deployment and deletion logs
no ERROR and one INFO line per step; a refused create is one WARNING naming the resource and Azure's code,
not repeated while the resource stays Stalled; kopf's per-handler lines are not at INFO; logger names are
whole. Read from the log of the operator as it runs (`--log-level info`, text format)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .harness import Kube, Operator, Simulator
from .test_speech_lifecycle import KIND, annotate, manifest, operation_count

# `[time] logger [LEVEL] message` (docs/operations.md, Logs)
LINE = re.compile(r"^\[[^\]]+\] (?P<logger>\S+) \[(?P<level>[A-Z]+)\] (?P<message>.*)$")


def lines(operator: Operator, since: int) -> list[dict[str, str]]:
    parsed = (LINE.match(line) for line in operator.logs(since).splitlines())
    return [m.groupdict() for m in parsed if m]


def about(entries: list[dict[str, str]], namespace: str, name: str) -> list[dict[str, str]]:
    prefix = f"[{KIND} {namespace}/{name}] "
    return [e for e in entries if e["message"].startswith(prefix)]


def assert_no_kopf_chatter(entries: list[dict[str, str]]) -> None:
    chatter = [
        e for e in entries if e["level"] != "DEBUG" and re.search(r"Handler '[^']+' succeeded", e["message"])
    ]
    assert not chatter, chatter
    temporary = [e for e in entries if e["level"] == "ERROR" and "failed temporarily" in e["message"]]
    assert not temporary, temporary
    ours = {e["logger"] for e in entries if e["logger"].startswith("azure_speech_operato")}
    assert ours and all(name.startswith("azure_speech_operator") for name in ours), ours  # never cut


def errors_about(entries: list[dict[str, str]], namespace: str) -> list[dict[str, str]]:
    return [e for e in entries if e["level"] == "ERROR" and f" {namespace}/" in e["message"]]


def test_a_healthy_create_and_delete_log_no_error_and_each_step_at_info(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str, wait: Callable[..., Any]
) -> None:
    since = operator.log_size()
    kube.apply(simulator.credentials_secret(namespace), namespace)
    kube.apply(manifest(simulator, "healthy"), namespace)
    kube.wait_condition(KIND, "healthy", namespace, "Ready", timeout=120)

    def logged(step: str) -> bool:
        return any(f"] {step}: " in e["message"] for e in about(lines(operator, since), namespace, "healthy"))

    wait(lambda: logged("Ready"), timeout=30, what="the Ready line")
    kube.delete(KIND, "healthy", namespace, timeout=60)
    wait(lambda: logged("Deleted"), timeout=30, what="the Deleted line")

    entries = lines(operator, since)
    mine = about(entries, namespace, "healthy")
    assert not errors_about(entries, namespace), errors_about(entries, namespace)
    assert not [e for e in mine if e["level"] == "WARNING"], mine
    steps = [e["message"].split("] ", 1)[1].split(":")[0] for e in mine if e["level"] == "INFO"]
    for step in ("Created", "Deploying", "Ready", "Deleted"):
        assert steps.count(step) == 1, steps
    assert {e["logger"] for e in mine} == {"azure_speech_operator.speechendpoint.handlers"}
    assert_no_kopf_chatter(entries)


def test_a_refused_create_is_one_warning_naming_the_resource_and_azures_code(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str, wait: Callable[..., Any]
) -> None:
    since = operator.log_size()
    kube.apply(simulator.credentials_secret(namespace), namespace)
    unknown = {"baseModelId": "00000000-0000-4000-8000-00000000dead"}
    kube.apply(manifest(simulator, "refused", model=unknown), namespace)
    obj = kube.wait_condition(KIND, "refused", namespace, "Stalled", timeout=60)
    code = obj["status"]["error"]["code"]  # Azure's: InvalidBaseModel
    assert code not in ("Deploying", "InvalidSpec")

    def warnings() -> list[dict[str, str]]:
        return [e for e in about(lines(operator, since), namespace, "refused") if e["level"] == "WARNING"]

    wait(lambda: warnings(), timeout=30, what="the Stalled warning")
    [warning] = warnings()
    assert f"stalled: {code}: " in warning["message"]
    assert "00000000-0000-4000-8000-00000000dead" in warning["message"]

    # One more try, asked for: Azure refuses again, the resource stays Stalled, and nothing new is warned.
    creates = operation_count(simulator, "Endpoints_Create")
    annotate(kube, "refused", namespace, reconcile_requested_at="2026-11-21T07:00:00Z")
    wait(
        lambda: operation_count(simulator, "Endpoints_Create") > creates,
        timeout=30,
        what="the retried create",
    )

    def requested_pass_done() -> bool:
        status = (kube.get(KIND, "refused", namespace) or {}).get("status") or {}
        return status.get("reconcileRequestedAt") == "2026-11-21T07:00:00Z"

    wait(requested_pass_done, timeout=30, what="the requested pass to write its status")
    kube.wait_condition(KIND, "refused", namespace, "Stalled", reason=code, timeout=30)
    entries = lines(operator, since)
    assert len(warnings()) == 1, warnings()
    assert not errors_about(entries, namespace), errors_about(entries, namespace)
    assert_no_kopf_chatter(entries)
