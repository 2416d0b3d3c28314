"""kstatus (what Flux's `wait: true` and kpt read) and `kubectl wait` on live resources of both kinds, as the
operator leaves them on the real API server: Ready is Current, a spec change the operator has not seen yet
is InProgress, a Stalled resource is Failed. kstatus is kstatus's own code (tests/kstatus.py)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests import kstatus

from .harness import Kube, Operator, Simulator, kubectl_path
from .test_speech_lifecycle import manifest as speech_manifest
from .test_voice_lifecycle import manifest as voice_manifest

KINDS = "speechendpoints,voiceendpoints"


def live(kube: Kube, namespace: str) -> dict[str, dict[str, str]]:
    """kstatus of every resource of both kinds in the namespace, from `kubectl get -o json` (a List)."""
    listed = json.loads(kube.kubectl("get", KINDS, "-n", namespace, "-o", "json").stdout)
    return {f"{r['kind']}/{r['name']}": r for r in kstatus.compute(listed["items"])}


def kubectl_wait(kube: Kube, namespace: str, condition: str, *names: str, timeout: int) -> Any:
    return kube.kubectl(
        "wait", "-n", namespace, f"--for=condition={condition}", f"--timeout={timeout}s", *names,
        check=False, timeout=timeout + 30,
    )  # fmt: skip


def test_ready_is_current_and_kubectl_wait_waits_for_it(
    kube: Kube, simulator: Simulator, operator: Operator, namespace: str
) -> None:
    kube.apply(simulator.credentials_secret(namespace), namespace)
    names = ["speechendpoint/call-center", "voiceendpoint/jessica"]
    kube.apply([speech_manifest(simulator, "call-center"), voice_manifest(simulator, "jessica")], namespace)
    # started while they deploy (kubectl wait needs them to exist), it waits until both are Ready
    waiting = subprocess.Popen(
        [kubectl_path(), "wait", "-n", namespace, "--for=condition=Ready", "--timeout=120s", *names],
        env=kube.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, err = waiting.communicate(timeout=150)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, err
    assert out.splitlines() == [
        "speechendpoint.speech.azure-operator.io/call-center condition met",
        "voiceendpoint.speech.azure-operator.io/jessica condition met",
    ]
    statuses = live(kube, namespace)
    assert {name: r["status"] for name, r in statuses.items()} == {
        "SpeechEndpoint/call-center": "Current",
        "VoiceEndpoint/jessica": "Current",
    }

    # A spec change the operator has not seen yet: InProgress, and `kubectl wait` does not take the old
    # Ready for the new generation
    operator.stop()
    try:
        kube.kubectl(
            "patch",
            "-n",
            namespace,
            "spe/call-center",
            "--type=merge",
            "-p",
            '{"spec": {"description": "v2"}}',
        )
        kube.kubectl(
            "patch", "-n", namespace, "vce/jessica", "--type=merge", "-p", '{"spec": {"suspended": true}}'
        )
        statuses = live(kube, namespace)
        assert {name: r["status"] for name, r in statuses.items()} == {
            "SpeechEndpoint/call-center": "InProgress",
            "VoiceEndpoint/jessica": "InProgress",
        }
        assert statuses["VoiceEndpoint/jessica"]["message"] == (
            "VoiceEndpoint generation is 2, but latest observed generation is 1"
        )
        assert kubectl_wait(kube, namespace, "Ready", *names, timeout=3).returncode != 0
    finally:
        operator.start()
    # the operator catches up: the description is written, the voice endpoint suspended (Ready, Suspended)
    assert kubectl_wait(kube, namespace, "Ready", *names, timeout=120).returncode == 0
    assert kubectl_wait(kube, namespace, "Suspended", "voiceendpoint/jessica", timeout=120).returncode == 0
    assert {name: r["status"] for name, r in live(kube, namespace).items()} == {
        "SpeechEndpoint/call-center": "Current",
        "VoiceEndpoint/jessica": "Current",
    }


def test_stalled_is_failed(kube: Kube, simulator: Simulator, operator: Operator, namespace: str) -> None:
    """No Secret: blocked on CredentialsNotFound, Stalled; kstatus says Failed with the operator's message."""
    kube.apply([speech_manifest(simulator, "orphan"), voice_manifest(simulator, "lonely")], namespace)
    names = ["speechendpoint/orphan", "voiceendpoint/lonely"]
    assert kubectl_wait(kube, namespace, "Stalled", *names, timeout=60).returncode == 0
    statuses = live(kube, namespace)
    for name, result in statuses.items():
        assert result["status"] == "Failed", name
        obj = kube.get(name.split("/")[0], name.split("/")[1], namespace)
        assert result["message"] == kube.condition(obj, "Stalled")["message"]  # type: ignore[index]
    assert sorted(statuses) == ["SpeechEndpoint/orphan", "VoiceEndpoint/lonely"]
