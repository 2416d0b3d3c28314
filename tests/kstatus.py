"""kstatus's verdict on objects, computed by kstatus itself: the `kstatus` tool
(tests/controlplane/kstatusbuild, on sigs.k8s.io/cli-utils/pkg/kstatus/status, the library Flux and kpt wait
with), built into the tools cache by tests/controlplane/build.py the first time (about 30 seconds; a second on
a warm Go build cache)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.controlplane.build import KSTATUS, ensure_binaries
from tests.processes import run_tool


def tool() -> Path:
    return ensure_binaries(module=KSTATUS)["kstatus"]


def compute(objects: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """kstatus's {apiVersion, kind, namespace, name, status, message} for each object, in order."""
    text = "\n".join(json.dumps(obj, default=str) for obj in objects)
    return [json.loads(line) for line in run_tool([str(tool())], input=text).stdout.splitlines()]


def compute_files(*paths: Path) -> list[dict[str, str]]:
    """The same for YAML or JSON files (several documents each, or `kind: List`)."""
    return [json.loads(line) for line in run_tool([str(tool()), *map(str, paths)]).stdout.splitlines()]
