"""The bound on passes in flight (`--max-passes-in-flight`, docs/operations.md "Passes in flight") on the real
API server: one pass at a time, and an Azure budget that makes requests wait, with SpeechEndpoints and
VoiceEndpoints applied at once. kopf's handlers find the one place taken and leave their passes to the drift
schedule; passes waiting for the budget lend the place; a pass that waited starts from the newest copy of
its object. Every resource must turn Ready owning exactly one endpoint in Azure: a pass run on a copy older
than another pass's create would create a second one."""

from __future__ import annotations

from .harness import Kube, Operator, Simulator
from .kinds import owned_endpoints, resource

SPEECH = [f"transcriber-{n}" for n in range(4)]
VOICE = [f"narrator-{n}" for n in range(2)]


def test_one_pass_at_a_time_converges_every_resource_with_one_endpoint(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str
) -> None:
    # 3 requests per 2 s for all resources together (one simulator host, one key): requests wait
    operator.restart(
        extra_args=[
            "--max-passes-in-flight", "1", "--azure-budget-requests", "3", "--azure-budget-window", "2s",
        ]
    )  # fmt: skip
    since = operator.log_size()
    kube.apply(simulator.credentials_secret(namespace), namespace)
    manifests = [resource("SpeechEndpoint", name, simulator) for name in SPEECH]
    manifests += [resource("VoiceEndpoint", name, simulator) for name in VOICE]
    kube.apply(manifests, namespace)  # one apply: every object arrives at once

    for kind, names in (("SpeechEndpoint", SPEECH), ("VoiceEndpoint", VOICE)):
        for name in names:
            ready = kube.wait_condition(kind, name, namespace, "Ready", timeout=240)
            uid = ready["metadata"]["uid"]
            assert len(owned_endpoints(simulator, kind, uid)) == 1, (kind, name)
            assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]
    log = operator.logs(since)
    assert " [ERROR] " not in log and " [WARNING] " not in log, log[-3000:]
