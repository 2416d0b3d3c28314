"""`kubectl get spe` columns (the CRD's additionalPrinterColumns) read fields the reconcile logic writes: each
jsonPath is evaluated on the object after real passes (deploying, ready, redeploying, stalled)."""

from __future__ import annotations

import re
from typing import Any

from azure_speech_operator.azure.types import ErrorClass, OperatorError

from .test_speech_fakes import BASE_MODEL, BASE_MODEL_2, World
from .test_speech_support import load_crd, root_schema

# The jsonPath forms the CRD uses: `.a.b.c`, or `.a.b[?(@.type=="X")].c` (a list filtered by a field).
_PATH = re.compile(
    r'^(?P<head>(\.[A-Za-z]+)+)(\[\?\(@\.(?P<key>\w+)=="(?P<value>\w+)"\)\](?P<tail>(\.[A-Za-z]+)+))?$'
)


def columns(wide: bool = False) -> dict[str, dict[str, Any]]:
    (version,) = load_crd()["spec"]["versions"]
    return {c["name"]: c for c in version["additionalPrinterColumns"] if wide or not c.get("priority")}


def _fields(value: Any, dotted: str) -> Any:
    for name in dotted.strip(".").split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return value


def evaluate(path: str, obj: dict[str, Any]) -> Any:
    """What kubectl prints for a column (None where it prints an empty cell)."""
    match = _PATH.match(path)
    assert match, f"jsonPath {path!r} is not a form this test evaluates"
    value = _fields(obj, match["head"])
    if match["key"] is None:
        return value
    chosen = [item for item in value or [] if item.get(match["key"]) == match["value"]]
    return _fields(chosen[0], match["tail"]) if chosen else None


def row(world: World, wide: bool = True) -> dict[str, Any]:
    obj = {
        "metadata": {"name": "call-center-en", "creationTimestamp": "2026-11-21T06:00:00Z"},
        "spec": world.spec,
        "status": world.status,
    }
    return {name: evaluate(column["jsonPath"], obj) for name, column in columns(wide).items()}


def test_every_column_names_a_field_of_the_schema() -> None:
    for name, column in columns(wide=True).items():
        match = _PATH.match(column["jsonPath"])
        assert match, name
        if match["head"].startswith(".metadata."):
            continue  # Kubernetes' own
        node = root_schema()
        for field in match["head"].strip(".").split("."):
            node = node["properties"][field]  # KeyError: a column reading a field the schema lacks
        if match["tail"]:
            node = node["items"]
            for field in match["tail"].strip(".").split("."):
                node = node["properties"][field]


def test_message_and_endpoint_are_in_the_default_view_and_the_azure_model_in_wide() -> None:
    assert {"Message", "Endpoint", "Model"} <= set(columns())
    assert set(columns(wide=True)) - set(columns()) == {"Azure Model"}
    assert list(columns())[-1] == "Message"  # a long message widens the table only at its end


async def test_a_ready_endpoint_fills_every_column() -> None:
    world = World()
    await world.run()
    world.azure.finish()
    await world.run()
    shown = row(world)
    assert all(value for value in shown.values()), shown
    endpoint = world.azure.only().id
    assert shown["Model"] == shown["Azure Model"] == BASE_MODEL
    assert shown["Endpoint"] == endpoint
    assert shown["Ready"] == "True" and endpoint in shown["Message"]


async def test_the_model_column_shows_the_serving_model_during_a_redeploy() -> None:
    world = World()
    await world.run()
    assert row(world)["Model"] is None  # a first deployment: nothing serves yet
    assert row(world)["Azure Model"] == BASE_MODEL
    world.azure.finish()
    await world.run()
    world.change_spec(model={"baseModelId": BASE_MODEL_2})
    await world.run()
    shown = row(world)
    assert shown["Reason"] == "Redeploying"
    assert shown["Model"] == BASE_MODEL  # still answering requests
    assert shown["Azure Model"] == BASE_MODEL_2
    assert BASE_MODEL_2 in shown["Message"]


async def test_a_stalled_resource_shows_what_to_fix() -> None:
    world = World()
    world.credentials_error = OperatorError(
        "CredentialsNotFound", "Secret speech-credentials not found", ErrorClass.BLOCKED
    )
    await world.run()
    shown = row(world, wide=False)
    assert shown["Reason"] == "CredentialsNotFound"
    assert "speech-credentials" in shown["Message"]
