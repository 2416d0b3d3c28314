"""Imports go one way: the Azure client <- the kinds' pure logic (with reconcile.py and conditions.py) <- the
runtime and kopf. A kind's logic never reaches kopf, Kubernetes or the runtime; the runtime never reaches
a kind: each kind registers itself (speechendpoint/handlers.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = [
    "azure_speech_operator.reconcile",
    "azure_speech_operator.conditions",
    "azure_speech_operator.speechendpoint.logic",
    "azure_speech_operator.speechendpoint.steps",
]
RUNTIME = [
    "azure_speech_operator.runtime.handlers",
    "azure_speech_operator.runtime.engine",
    "azure_speech_operator.runtime.writer",
    "azure_speech_operator.runner",
]


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize("module", PURE)
def test_the_logic_reaches_neither_kopf_kubernetes_nor_the_runtime(module: str) -> None:
    loaded = loaded_after_import(module)
    reached = {m for m in loaded if m.split(".")[0] in ("kopf", "kubernetes")}
    reached |= {m for m in loaded if m.startswith("azure_speech_operator.runtime")}
    assert not reached, sorted(reached)


@pytest.mark.parametrize("module", RUNTIME)
def test_the_runtime_reaches_no_kind(module: str) -> None:
    loaded = loaded_after_import(module)
    kinds = {
        m
        for m in loaded
        if m.startswith(("azure_speech_operator.speechendpoint", "azure_speech_operator.voiceendpoint"))
    }
    assert not kinds, sorted(kinds)
