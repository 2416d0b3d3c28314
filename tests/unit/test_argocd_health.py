"""The Argo CD health checks (argocd/resource_customizations/, see tests/argocd.py), run as Argo CD runs
them: every case of each kind's health_test.yaml through Lua 5.1 (gopher-lua's dialect) with only what Argo
CD gives a script from argocd-cm, and through Argo CD's own health-script code (built from its Go module by
tests/controlplane/build.py, a couple of minutes the first time). Each row of the condition truth table
(docs/argocd.md) has a fixture, whose conditions are the ones the operator's own code writes for that row;
the argocd-cm snippet and the chart's copies are the scripts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lupa.lua51
import pytest
import yaml
from azure_speech_operator.conditions import MODEL_EXPIRED, Health, Phase, truth_table

from tests.argocd import (
    CUSTOMIZATIONS,
    KINDS,
    SNIPPET,
    configmap_data,
    folder,
    generated,
    merge_command,
    script,
)
from tests.controlplane.build import ARGOCD_HEALTH, ensure_binaries
from tests.processes import REPO, run_tool

# What Argo CD opens for a script from argocd-cm (util/lua/lua.go, runLua, UseOpenLibs false): the base
# library, `table`, `package` and a safe `os`; no `string` (so no ("x"):method() either) and no `math`.
SANDBOX = """
local source, obj = ...
local env = { obj = obj, table = table, package = package }
for _, name in ipairs({ "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print",
    "rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "unpack",
    "xpcall", "_VERSION" }) do
  env[name] = _G[name]
end
env.os = { clock = os.clock, date = os.date, difftime = os.difftime, time = os.time }
env._G = env
debug.setmetatable("", nil)
local chunk = assert(loadstring(source, "=health.lua"))
setfenv(chunk, env)
return chunk()
"""
HEALTH_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def run_health(source: str, obj: dict[str, Any]) -> dict[str, str]:
    """{status, message} as Argo CD reads them from the table the script returns."""
    lua = lupa.lua51.LuaRuntime(register_eval=False, register_builtins=False)
    plain = json.loads(json.dumps(obj, default=str))  # what Argo CD's unstructured object holds
    result = lua.execute(SANDBOX, source, lua.table_from(plain, recursive=True))
    assert lupa.lua51.lua_type(result) == "table", f"the script returned {result!r}, not a table"
    status, message = result["status"], result["message"]
    assert status in HEALTH_STATUSES, f"not a health status: {status!r}"
    return {"status": status, "message": message or ""}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def cases(kind: str) -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = load(folder(kind) / "health_test.yaml")["tests"]
    return tests


ALL_CASES = [(kind, case) for kind in KINDS for case in cases(kind)]


@pytest.mark.parametrize(("kind", "case"), ALL_CASES, ids=[f"{k}/{c['inputPath']}" for k, c in ALL_CASES])
def test_each_case_of_health_test_yaml(kind: str, case: dict[str, Any]) -> None:
    assert run_health(script(kind), load(folder(kind) / case["inputPath"])) == case["healthStatus"]


@pytest.fixture(scope="module")
def argocd_health() -> Path:
    return ensure_binaries(module=ARGOCD_HEALTH)["argocd-health"]


@pytest.mark.parametrize("kind", KINDS)
def test_argo_cds_own_runner_agrees_with_health_test_yaml(argocd_health: Path, kind: str) -> None:
    """Argo CD's util/lua (gopher-lua, its decoding of the object, its checks of the result) on each case."""
    lines = run_tool([str(argocd_health), str(folder(kind))]).stdout.splitlines()
    computed = [(line["inputPath"], line["healthStatus"]) for line in map(json.loads, lines)]
    expected = [(case["inputPath"], case["healthStatus"]) for case in cases(kind)]
    # Argo CD's HealthStatus leaves an empty message out of its JSON
    assert [(path, {"message": "", **health}) for path, health in computed] == expected


def test_health_test_yaml_is_in_argo_cds_format_and_lists_every_fixture() -> None:
    """As util/lua/health_test.go reads it: `tests`, each with `healthStatus` {status, message} and an
    `inputPath` under testdata/; no fixture left out."""
    for kind in KINDS:
        document = load(folder(kind) / "health_test.yaml")
        assert list(document) == ["tests"]
        for case in document["tests"]:
            assert set(case) == {"healthStatus", "inputPath"}
            assert set(case["healthStatus"]) == {"status", "message"}
            assert case["healthStatus"]["status"] in HEALTH_STATUSES
        listed = sorted(case["inputPath"] for case in document["tests"])
        fixtures = sorted(f"testdata/{p.name}" for p in (folder(kind) / "testdata").glob("*.yaml"))
        assert listed == fixtures, kind


# --- the truth table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A row of the truth table: Argo CD's status for it, and the conditions the operator writes in it."""

    argo: str
    health: Health | None = None  # None: the operator has written no status yet
    also_true: str | None = None  # a condition besides the table's that is True in this row
    stale: bool = False  # written for an older generation than the resource's


def _rows(suspended: bool | None, redeploy: str, failure: str) -> dict[str, Row]:
    def row(argo: str, phase: Phase, reason: str, **more: Any) -> Row:
        return Row(argo, Health(phase, reason, suspended=suspended), **more)

    return {
        "no-status": Row("Progressing"),
        "stale-generation": row("Progressing", Phase.READY, "Ready", stale=True),
        "deploying": row("Progressing", Phase.DEPLOYING, "Deploying"),
        "ready": row("Healthy", Phase.READY, "Ready"),
        redeploy: row("Progressing", Phase.REDEPLOYING, "Redeploying"),
        "transient-error": row("Progressing", Phase.RETRYING, "TooManyRequests"),
        "stalled": row("Degraded", Phase.STALLED, failure),
    }


# fixture name -> row, per kind (docs/argocd.md has the table; Suspended is VoiceEndpoint's, ModelExpired
# SpeechEndpoint's)
ROWS = {
    "SpeechEndpoint": {
        **_rows(None, "redeploying", "InvalidModel"),
        "updating": Row("Progressing", Health(Phase.REDEPLOYING, "Updating")),
        "model-expired": Row("Degraded", Health(Phase.READY, "Ready"), also_true=MODEL_EXPIRED),
    },
    "VoiceEndpoint": {
        **_rows(False, "swapping", "DeploymentFailed"),
        "suspending": Row("Progressing", Health(Phase.SUSPENDING, "Suspending", suspended=False)),
        "suspended": Row("Suspended", Health(Phase.SUSPENDED, "Ready", suspended=True)),
        "resuming": Row("Progressing", Health(Phase.RESUMING, "Resuming", suspended=False)),
    },
}
ALL_ROWS = [(kind, name) for kind in KINDS for name in ROWS[kind]]


@pytest.mark.parametrize(("kind", "name"), ALL_ROWS, ids=[f"{k}/{n}" for k, n in ALL_ROWS])
def test_each_row_of_the_truth_table_has_a_fixture_written_as_the_operator_writes(
    kind: str, name: str
) -> None:
    row = ROWS[kind][name]
    expected = {c["inputPath"]: c["healthStatus"]["status"] for c in cases(kind)}
    assert expected.get(f"testdata/{name}.yaml") == row.argo
    obj = load(folder(kind) / "testdata" / f"{name}.yaml")
    assert obj["kind"] == kind
    if row.health is None:
        assert "status" not in obj
        return
    status = obj["status"]
    assert (status["observedGeneration"] < obj["metadata"]["generation"]) is row.stale
    written = {c["type"]: c for c in status["conditions"]}
    assert all(c["observedGeneration"] == status["observedGeneration"] for c in written.values())
    # errors leave Available (and Suspended) as they were: the fixture's own are what "before" was
    for condition in truth_table(row.health, status["conditions"]):
        assert (written[condition.type]["status"], written[condition.type]["reason"]) == (
            condition.status,
            condition.reason,
        ), f"{name}: {condition.type}"
    if row.also_true is not None:
        assert written[row.also_true]["status"] == "True"


# --- what is made from the scripts --------------------------------------------------------------------------


def test_the_argocd_cm_snippet_and_the_charts_copies_are_the_scripts() -> None:
    stale = [str(path) for path, text in generated().items() if not path.exists() or path.read_text() != text]
    assert not stale, f"{stale} differ from argocd/resource_customizations/: run `python -m tests.argocd`"


def test_the_snippet_merges_the_scripts_under_argo_cds_keys() -> None:
    assert load(SNIPPET) == {"data": configmap_data()}
    assert set(configmap_data()) == {
        "resource.customizations.health.speech.azure-operator.io_SpeechEndpoint",
        "resource.customizations.health.speech.azure-operator.io_VoiceEndpoint",
    }


def test_the_docs_give_the_merge_command_the_install_tests_run() -> None:
    words = " ".join((REPO / "docs" / "argocd.md").read_text().split())
    assert " ".join(merge_command().split()) in words


def test_a_folder_for_each_kind_and_nothing_else() -> None:
    assert sorted(p.name for p in CUSTOMIZATIONS.iterdir()) == sorted(KINDS)


@pytest.mark.parametrize(
    "source",
    ['return { status = string.format("%s", "Healthy") }', 'return { status = ("healthy"):upper() }'],
)
def test_the_sandbox_lacks_what_argo_cd_does_not_give(source: str) -> None:
    """A script that needs the string library fails here as it fails in Argo CD (without useOpenLibs)."""
    with pytest.raises(lupa.lua51.LuaError):
        run_health(source, {"metadata": {}})
