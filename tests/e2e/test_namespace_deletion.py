"""Deleting a namespace that holds SpeechEndpoints and VoiceEndpoints: the real kube-controller-manager
deletes their objects, the operator deletes their Azure endpoints and releases its finalizers, and the
namespace goes away; a deletion without credentials shows why it waits and is released after the bounded
wait (issue 12, suite 5: deletion never hangs)."""

from __future__ import annotations

import time
from typing import Any

from azure_speech_operator.simulator.seed import VOICE_MODEL_2, VOICE_MODEL_DEPLOY_FAILS

from .harness import Kube, Operator, Simulator, unique_name, wait_for
from .kinds import KINDS, delete_in_azure, owned_endpoints, resource, short, unknown_model
from .test_speech_lifecycle import KIND, azure_http, endpoints_of, manifest


def test_namespace_deletion_with_speech_endpoints_completes(
    kube: Kube, simulator: Simulator, operator: Operator
) -> None:
    namespace = kube.create_namespace(unique_name("ns-delete"))
    kube.apply(simulator.credentials_secret(namespace), namespace)
    kube.apply(manifest(simulator, "ready"), namespace)
    ready = kube.wait_condition(KIND, "ready", namespace, "Ready", timeout=120)
    # a second one still deploying when the namespace goes, and one whose create Azure refuses
    kube.apply(manifest(simulator, "deploying"), namespace)
    refused = manifest(simulator, "refused", model={"customModelId": "00000000-0000-4000-8000-00000000dead"})
    kube.apply(refused, namespace)
    deploying = kube.get(KIND, "deploying", namespace)
    assert deploying is not None
    uids = [ready["metadata"]["uid"], deploying["metadata"]["uid"]]

    kube.delete_namespace(namespace, wait=True, timeout=180)

    assert [e["id"] for uid in uids for e in endpoints_of(simulator, uid)] == []
    assert kube.get("Namespace", namespace) is None


def test_namespace_deletion_after_a_restart_releases_at_once_and_says_what_it_left(
    kube: Kube, simulator: Simulator, operator: Operator
) -> None:
    """The operator restarted since it last read the Secret, so it has no key when the namespace deletion
    takes the Secret: nothing can bring it back, so the resource is released at once (no 10-minute wait),
    with a WARNING naming the endpoint left in Azure and the orphaned-endpoints metric."""
    namespace = kube.create_namespace(unique_name("ns-delete-restart"))
    kube.apply(simulator.credentials_secret(namespace), namespace)
    kube.apply(manifest(simulator, "left"), namespace)
    obj = kube.wait_condition(KIND, "left", namespace, "Ready", timeout=120)
    endpoint_id = obj["status"]["endpointId"]
    operator.restart()  # forgets the key; the resource is Ready, so the restart reads no Secret
    since = operator.log_size()
    kube.kubectl("delete", "secret", "speech-credentials", "-n", namespace)

    kube.delete_namespace(namespace, wait=True, timeout=60)

    assert [e["id"] for e in endpoints_of(simulator, obj["metadata"]["uid"])] == [endpoint_id]
    warnings = [
        line for line in operator.logs(since).splitlines() if "[WARNING]" in line and endpoint_id in line
    ]
    assert warnings and "namespace is being deleted" in warnings[0]
    assert "azure_speech_operator_orphaned_endpoints" in operator.metrics()
    azure_http(simulator, "DELETE", f"endpoints/{endpoint_id}")


# --- issue 12, suite 5: deletion never hangs, for both kinds in every state ------------------------------
#
#     flock /tmp/e2e.lock .venv/bin/python -m pytest tests/e2e/test_namespace_deletion.py -s
#
# prints the resources per state and the seconds each took to go (docs/reliability.md records them).

CREDENTIALS_WAIT_S = 8  # --deletion-credentials-wait in these tests (10 minutes by default)


def gone_after(
    kube: Kube, targets: list[tuple[str, str, str]], start: float, timeout: float
) -> dict[str, float]:
    """Polls until every (kind, name, namespace) is gone; returns seconds from `start` per 'kind/name'."""
    took: dict[str, float] = {}

    def all_gone() -> bool:
        for kind, name, namespace in targets:
            if f"{kind}/{name}" not in took and kube.get(kind, name, namespace) is None:
                took[f"{kind}/{name}"] = time.monotonic() - start
        return len(took) == len(targets)

    wait_for(all_gone, timeout, f"{len(targets) - len(took)} resources to be gone", interval=0.25)
    return took


def print_times(title: str, states: dict[str, list[tuple[str, str]]], took: dict[str, float]) -> None:
    print(f"\n{title}: {sum(len(v) for v in states.values())} resources in {len(states)} states")
    for state, members in states.items():
        times = ", ".join(f"{kind} {took[f'{kind}/{name}']:.1f} s" for kind, name in members)
        print(f"  {state}: {len(members)} ({times})")


def test_namespace_deletion_with_both_kinds_in_every_state_completes(
    kube: Kube, simulator: Simulator, operator: Operator
) -> None:
    """Never created (no Secret), deploying, failed in Azure, Stalled (create refused), reconcile-policy skip,
    Ready, a voice swap in its grace period, and Ready resources whose Secret was deleted first (the operator
    deletes with the key it last read): the namespace goes, and nothing is left in Azure."""
    operator.restart(extra_args=["--deletion-credentials-wait", f"{CREDENTIALS_WAIT_S}s"])
    try:
        namespace = kube.create_namespace(unique_name("ns-every-state"))
        kube.apply(simulator.credentials_secret(namespace), namespace)
        kube.apply(simulator.credentials_secret(namespace, name="deleted-first"), namespace)
        since = operator.log_size()
        skip = {"speech.azure-operator.io/reconcile-policy": "skip"}
        states: dict[str, list[tuple[str, str]]] = {}
        reached: dict[tuple[str, str], tuple[str, str | None]] = {}  # condition (and reason) each reaches

        def add(state: str, kind: str, wait: tuple[str, str | None] | None, **fields: Any) -> str:
            name = f"{short(kind)}-{state}"
            annotations = fields.pop("annotations", None)
            body = resource(kind, name, simulator, **fields)
            if annotations:
                body["metadata"]["annotations"] = annotations
            kube.apply(body, namespace)
            states.setdefault(state, []).append((kind, name))
            if wait is not None:
                reached[(kind, name)] = wait
            return name

        def endpoint_id(kind: str, name: str) -> Any:
            return ((kube.get(kind, name, namespace) or {}).get("status") or {}).get("endpointId")

        for kind in KINDS:
            add("never-created", kind, ("Stalled", "CredentialsNotFound"), credentials="absent")
            add("stalled", kind, ("Stalled", None), **unknown_model(kind))
            add("skip", kind, ("Stalled", "NotCreated"), annotations=skip)
            add("ready", kind, ("Ready", None))
            add("secret-deleted-first", kind, ("Ready", None), credentials="deleted-first")
        # failed in Azure: a speech endpoint made to fail, a voice model whose deployment fails
        failing = add("failed", "SpeechEndpoint", ("Stalled", None))
        add("failed", "VoiceEndpoint", ("Stalled", None), modelId=VOICE_MODEL_DEPLOY_FAILS)
        swapping = add("grace-period", "VoiceEndpoint", ("Ready", None), swapGracePeriod="1h")
        failed = wait_for(lambda: endpoint_id(KIND, failing), 60, "the failing speech endpoint's id")
        simulator.http.post(f"/_sim/endpoints/{failed}/fail").raise_for_status()
        for (kind, name), (condition, reason) in reached.items():
            kube.wait_condition(kind, name, namespace, condition, reason=reason, timeout=120)
        # a voice swap in its grace period: two endpoints in Azure
        kube.kubectl(
            "patch", "-n", namespace, f"voiceendpoint/{swapping}", "--type", "merge",
            "-p", f'{{"spec": {{"modelId": "{VOICE_MODEL_2}"}}}}',
        )  # fmt: skip
        wait_for(
            lambda: (
                "previousEndpoint"
                in ((kube.get("VoiceEndpoint", swapping, namespace) or {}).get("status") or {})
            ),
            120,
            "the swap's grace period",
        )
        kube.delete("Secret", "deleted-first", namespace)
        for kind in KINDS:  # last: still deploying when the namespace goes
            name = add("deploying", kind, None)
            wait_for(lambda: endpoint_id(kind, name), 60, f"{kind} {name}'s create")  # noqa: B023
        objects = {
            (kind, name): kube.get(kind, name, namespace) for group in states.values() for kind, name in group
        }
        owned = {
            key: owned_endpoints(simulator, key[0], obj["metadata"]["uid"])
            for key, obj in objects.items()
            if obj
        }
        assert len(owned[("VoiceEndpoint", swapping)]) == 2
        deploying = [(objects[key] or {}).get("status", {}).get("azureStatus") for key in states["deploying"]]

        start = time.monotonic()
        kube.delete_namespace(namespace)
        took = gone_after(kube, [(kind, name, namespace) for kind, name in objects], start, 180)
        wait_for(lambda: kube.get("Namespace", namespace) is None, 120, f"namespace {namespace} to be gone")
        took_namespace = time.monotonic() - start
    finally:
        operator.restart(extra_args=[])
    print_times("deletion, namespace with every state", states, took)
    print(
        f"  namespace gone after {took_namespace:.1f} s; "
        f"Azure endpoints before: {sum(map(len, owned.values()))}; deploying ones were {deploying}"
    )
    left = {
        key: owned_endpoints(simulator, key[0], obj["metadata"]["uid"]) for key, obj in objects.items() if obj
    }
    print(f"  Azure endpoints left: {sum(map(len, left.values()))}")
    assert left == {key: [] for key in left}
    # None was orphaned: the key last read served every delete, and what was never created owns nothing.
    orphaned = sorted(
        {name for kind, name in objects if f"/{name}] OrphanedEndpoint" in operator.logs(since)}
    )
    print(f"  released with OrphanedEndpoint: {orphaned or 'none'}")
    assert orphaned == []


def test_a_deletion_without_credentials_shows_why_it_waits_and_is_released_after_the_bounded_wait(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str
) -> None:
    """The Secret is gone and the operator restarted (no key in memory), the namespace stays: each kind's
    resource shows on its conditions that the deletion waits for credentials, and is released after
    --deletion-credentials-wait with a Warning OrphanedEndpoint naming the endpoint left in Azure. Deleted
    alongside, one of each kind whose Secret never existed owns nothing and is released at once."""
    operator.restart(extra_args=["--deletion-credentials-wait", f"{CREDENTIALS_WAIT_S}s"])
    try:
        kube.apply(simulator.credentials_secret(namespace), namespace)
        never = {kind: f"{short(kind)}-never-created" for kind in KINDS}
        kube.apply(
            [resource(kind, name, simulator, credentials="absent") for kind, name in never.items()], namespace
        )
        names = {kind: f"{short(kind)}-keyless" for kind in KINDS}
        kube.apply([resource(kind, name, simulator) for kind, name in names.items()], namespace)
        for kind, name in never.items():
            kube.wait_condition(kind, name, namespace, "Stalled", reason="CredentialsNotFound", timeout=60)
        endpoints = {
            kind: kube.wait_condition(kind, name, namespace, "Ready", timeout=120)["status"]["endpointId"]
            for kind, name in names.items()
        }
        kube.delete("Secret", "speech-credentials", namespace)
        operator.restart()  # forgets the key; the resources are Ready, so the restart reads no Secret
        start = time.monotonic()
        for kind, name in [*names.items(), *never.items()]:
            kube.delete(kind, name, namespace, wait=False)

        def waiting_shown() -> bool:
            shown = [
                c.get("message", "")
                for kind, name in names.items()
                for c in ((kube.get(kind, name, namespace) or {}).get("status") or {}).get("conditions") or []
            ]
            return sum("deleting the endpoint waits for them" in m for m in shown) >= len(names)

        wait_for(waiting_shown, 30, "each resource to show why its deletion waits")
        shown_after = time.monotonic() - start
        took = gone_after(
            kube, [(kind, name, namespace) for kind, name in [*names.items(), *never.items()]], start, 60
        )
    finally:
        operator.restart(extra_args=[])
    states = {"credentials-gone": list(names.items()), "never-created": list(never.items())}
    print_times("deletion, credentials gone", states, took)
    print(f"  waiting shown on both after {shown_after:.1f} s; the bounded wait is {CREDENTIALS_WAIT_S} s")
    for kind, name in names.items():
        # deletionTimestamp has whole seconds (truncated): the wait measured from it can end up to 1 s early
        assert took[f"{kind}/{name}"] >= CREDENTIALS_WAIT_S - 1
        warnings = [
            e["message"]
            for e in kube.events(namespace, involved_name=name)
            if e.get("type") == "Warning" and e.get("reason") == "OrphanedEndpoint"
        ]
        assert warnings and endpoints[kind] in warnings[0], (kind, warnings)
        assert endpoints[kind] in {e["id"] for e in simulator.endpoints()["endpoints"]}  # left, as it says
        delete_in_azure(simulator, kind, endpoints[kind])
    waited = [kind for kind, name in never.items() if took[f"{kind}/{name}"] >= CREDENTIALS_WAIT_S - 1]
    assert waited == []  # what was never created owns nothing: released at once (49913ee)
