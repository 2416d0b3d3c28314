import pytest
from azure_speech_operator.azure.types import ErrorClass, OperatorError
from azure_speech_operator.kube import KubeApiError
from azure_speech_operator.runtime.export import export_config_map, remove_export

from tests.unit.runtime_fakes import FakeKube

OWNER = {
    "apiVersion": "speech.azure-operator.io/v1alpha1",
    "kind": "SpeechEndpoint",
    "metadata": {"name": "call-center", "namespace": "team-a", "uid": "uid-owner"},
}
DATA = {"endpointId": "a07164e8-0000-0000-0000-000000000000", "host": "westeurope.stt.speech.microsoft.com"}


async def test_creates_an_owned_config_map() -> None:
    kube = FakeKube()
    assert await export_config_map(kube, OWNER, "call-center-endpoint", DATA) is True
    cm = kube.config_maps[("team-a", "call-center-endpoint")]
    assert cm["data"] == DATA
    assert cm["metadata"]["namespace"] == "team-a"
    assert cm["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "speech.azure-operator.io/v1alpha1",
            "kind": "SpeechEndpoint",
            "name": "call-center",
            "uid": "uid-owner",
            "controller": True,
        }
    ]


async def test_writes_only_when_data_differs() -> None:
    kube = FakeKube()
    await export_config_map(kube, OWNER, "cm", DATA)
    assert await export_config_map(kube, OWNER, "cm", dict(DATA)) is False
    assert kube.writes == [("create", "team-a", "cm")]
    changed = {**DATA, "endpointId": "b0000000-0000-0000-0000-000000000000"}
    assert await export_config_map(kube, OWNER, "cm", changed) is True
    assert kube.writes[-1] == ("replace", "team-a", "cm")
    assert kube.config_maps[("team-a", "cm")]["data"] == changed
    # The rest of the object (labels added by others, owner reference) survives an update.
    assert kube.config_maps[("team-a", "cm")]["metadata"]["ownerReferences"][0]["uid"] == "uid-owner"


async def test_never_overwrites_a_config_map_it_does_not_own() -> None:
    kube = FakeKube()
    await kube.create_config_map(
        "team-a", {"metadata": {"name": "app-config", "namespace": "team-a"}, "data": {"mine": "yes"}}
    )
    other_owner = {**OWNER, "metadata": {**OWNER["metadata"], "uid": "uid-other"}}
    with pytest.raises(OperatorError) as info:
        await export_config_map(kube, other_owner, "app-config", DATA)
    assert info.value.reason == "ConfigMapNotOwned"
    # blocked, not fatal: removing the other ConfigMap needs no spec change, so it is retried with backoff
    assert info.value.error_class is ErrorClass.BLOCKED
    assert "app-config" in info.value.message and "team-a" in info.value.message
    assert "(it was not made by the operator)" in info.value.message
    assert kube.config_maps[("team-a", "app-config")]["data"] == {"mine": "yes"}
    # ... nor a ConfigMap owned by another resource, which the message names (deleting it would only start
    # a fight over it)
    await export_config_map(kube, OWNER, "owned-by-first", DATA)
    with pytest.raises(OperatorError) as info:
        await export_config_map(kube, other_owner, "owned-by-first", {"x": "y"})
    owner = f"{OWNER['kind']} {OWNER['metadata']['name']!r}"
    assert f"(it is {owner}'s export)" in info.value.message
    assert "delete that ConfigMap" not in info.value.message
    assert kube.config_maps[("team-a", "owned-by-first")]["data"] == DATA


async def test_concurrent_change_is_transient() -> None:
    class Racing(FakeKube):
        async def replace_config_map(
            self, namespace: str, name: str, body: dict[str, object]
        ) -> dict[str, object]:
            self.config_maps[(namespace, name)]["metadata"]["resourceVersion"] = "changed-meanwhile"
            return await super().replace_config_map(namespace, name, body)  # type: ignore[arg-type]

    kube = Racing()
    await export_config_map(kube, OWNER, "cm", DATA)
    with pytest.raises(OperatorError) as info:
        await export_config_map(kube, OWNER, "cm", {"x": "y"})
    assert info.value.error_class is ErrorClass.TRANSIENT


async def test_rbac_refusal_blocks() -> None:
    class Forbidden(FakeKube):
        async def get_config_map(self, namespace: str, name: str) -> None:
            raise KubeApiError(403, "Forbidden", "configmaps is forbidden", operation="GET")

    with pytest.raises(OperatorError) as info:
        await export_config_map(Forbidden(), OWNER, "cm", DATA)
    assert (info.value.reason, info.value.error_class) == ("KubernetesForbidden", ErrorClass.BLOCKED)


async def test_remove_export_deletes_only_owned() -> None:
    kube = FakeKube()
    await export_config_map(kube, OWNER, "cm", DATA)
    await kube.create_config_map(
        "team-a", {"metadata": {"name": "foreign", "namespace": "team-a"}, "data": {}}
    )
    assert await remove_export(kube, OWNER, "foreign") is False
    assert await remove_export(kube, OWNER, "absent") is False
    assert await remove_export(kube, OWNER, "cm") is True
    assert ("team-a", "cm") not in kube.config_maps and ("team-a", "foreign") in kube.config_maps
