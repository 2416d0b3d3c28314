"""kube.as_operator_error: how a failed Kubernetes API call is reported in status, events and logs."""

from __future__ import annotations

import pytest
from azure_speech_operator.azure.types import ErrorClass
from azure_speech_operator.kube import KUBERNETES_FORBIDDEN, KubeApiError, as_operator_error

WHAT = "exporting to ConfigMap 'x' in namespace 'y'"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcGVyYXRvciJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    "message",
    [
        # an admission webhook (Kyverno, Gatekeeper) denying the write: its words span lines
        'admission webhook "validate.kyverno.svc-fail" denied the request: \n\nresource ConfigMap/y/x was '
        "blocked due to the following policies\n\nrequire-team:\n  check-team: 'ConfigMaps here need a team "
        "label'",
        # a ValidatingAdmissionPolicy
        "configmaps \"x\" is forbidden: ValidatingAdmissionPolicy 'require-team' with binding 'team' denied "
        "request: ConfigMaps here need a team label",
        # a ResourceQuota
        'configmaps "x" is forbidden: exceeded quota: cm-quota, requested: count/configmaps=1, used: '
        "count/configmaps=5, limited: count/configmaps=5",
        # RBAC
        'configmaps "x" is forbidden: User "system:serviceaccount:ops:azure-speech-operator" cannot create '
        'resource "configmaps" in API group "" in the namespace "y"',
    ],
)
def test_a_refusal_blocks_and_keeps_the_api_servers_reason(message: str) -> None:
    error = as_operator_error(KubeApiError(403, "Forbidden", message, operation="POST"), WHAT)
    assert (error.reason, error.error_class) == (KUBERNETES_FORBIDDEN, ErrorClass.BLOCKED)
    assert error.message == f"{WHAT}: refused by the API server (HTTP 403): {' '.join(message.split())}"


def test_a_refusal_without_a_message_says_so_plainly() -> None:
    error = as_operator_error(KubeApiError(401, "Unauthorized", "", operation="PATCH"), WHAT)
    assert error.message == f"{WHAT}: refused by the API server (HTTP 401)"


@pytest.mark.parametrize("status", [0, 403, 422, 500])
def test_the_api_servers_message_is_one_line_scrubbed_and_shortened(status: int) -> None:
    # A webhook may quote what it likes, a token included: it must not reach status or events.
    message = f"denied:\n\x1b[31mAuthorization: Bearer {JWT}\n" + "policy says no. " * 100
    error = as_operator_error(KubeApiError(status, "Forbidden", message, operation="PUT"), WHAT)
    assert JWT not in error.message and "\x1b" not in error.message and "\n" not in error.message
    assert "policy says no." in error.message
    assert len(error.message) < len(WHAT) + 600


def test_an_invalid_write_is_a_refusal_not_a_hiccup() -> None:
    # a ValidatingAdmissionPolicy denies with 422 Invalid by default; so does a name the API server refuses
    message = 'ConfigMap "a..b" is invalid: metadata.name: Invalid value: "a..b"'
    error = as_operator_error(KubeApiError(422, "Invalid", message, operation="POST"), WHAT)
    assert (error.reason, error.error_class) == (KUBERNETES_FORBIDDEN, ErrorClass.BLOCKED)
    assert error.message == f"{WHAT}: refused by the API server (HTTP 422): {message}"
    # a JSON patch's failed `test` (the object changed under the pass) is for the next pass to get past
    stale = as_operator_error(
        KubeApiError(422, "Invalid", "test failed", operation="PATCH"), WHAT, invalid_is_refusal=False
    )
    assert (stale.reason, stale.error_class) == ("KubernetesApiError", ErrorClass.TRANSIENT)


def test_other_failures_are_transient_with_the_servers_message() -> None:
    error = as_operator_error(KubeApiError(500, "InternalError", "etcd: too slow", operation="PUT"), WHAT)
    assert (error.reason, error.error_class) == ("KubernetesApiError", ErrorClass.TRANSIENT)
    assert error.message == f"{WHAT}: HTTP 500 InternalError: etcd: too slow"
    conflict = as_operator_error(KubeApiError(409, "Conflict", "changed", operation="PUT"), WHAT)
    assert (conflict.reason, conflict.error_class) == ("KubernetesConflict", ErrorClass.TRANSIENT)
