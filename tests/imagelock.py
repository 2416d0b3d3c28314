"""The image's locked Python dependencies: requirements/image.txt (what the operator runs on) and
requirements/build.txt (the wheel's build backend), exact versions with the sha256 of every wheel the image
may install, resolved from pyproject.toml's ranges.

`python -m tests.image --lock` (`make image-lock`) makes them with pip's own resolver
(`pip install --dry-run --report`) for the image's interpreter, CPython 3.11 on Debian 12's glibc 2.36, on
x86_64 and aarch64, wheels only. The Dockerfile installs them with `--require-hashes`, so a build takes
exactly these files or fails; tests/install/test_image_lock.py checks that they still match pyproject.toml.

Each pin is preceded by a comment naming what that package needs in the image (its Requires-Dist whose
markers hold there, markers dropped), so the test can walk the dependency graph without an index.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tests.processes import REPO

LOCK = REPO / "requirements" / "image.txt"
BUILD_LOCK = REPO / "requirements" / "build.txt"
PYTHON = "3.11"  # Debian 12's python3
GLIBC_MINOR = 36  # Debian 12's glibc 2.36
ARCHES = ("x86_64", "aarch64")
# manylinux_2_5/2_12/2_17 wheels may carry only their PEP 513/571/599 names
LEGACY_MANYLINUX = {5: "manylinux1", 12: "manylinux2010", 17: "manylinux2014"}
NEEDS = re.compile(r"^# (?P<name>\S+) needs: (?P<needs>.*)$")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)")
HASH = re.compile(r"--hash=sha256:(?P<digest>[0-9a-f]{64})")

HEADER = """\
# {what}: exact versions and the sha256 of each wheel
# (CPython {python}, glibc 2.{glibc}, {arches}), resolved from pyproject.toml's {source}
# by `make image-lock` (python -m tests.image --lock).
# The Dockerfile installs them with --require-hashes; tests/install/test_image_lock.py keeps them in step
# with pyproject.toml. Generated: do not edit by hand.
"""


@dataclass
class Pin:
    version: str
    hashes: set[str] = field(default_factory=set)
    needs: list[Requirement] = field(default_factory=list)  # in the image, markers already applied


def pyproject_requirements() -> tuple[list[Requirement], list[Requirement]]:
    """(the package's dependencies, its build system's), as pyproject.toml gives them."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    return (
        [Requirement(r) for r in project["project"]["dependencies"]],
        [Requirement(r) for r in project["build-system"]["requires"]],
    )


def platforms(arch: str) -> list[str]:
    """The wheel platform tags glibc 2.36 on `arch` runs, most specific first (pip does not expand them)."""
    lowest = 5 if arch == "x86_64" else 17
    tags = []
    for minor in range(GLIBC_MINOR, lowest - 1, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in LEGACY_MANYLINUX:
            tags.append(f"{LEGACY_MANYLINUX[minor]}_{arch}")
    return tags


def requirement_text(requirement: Requirement) -> str:
    """The requirement without its marker (it has been evaluated)."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{canonicalize_name(requirement.name)}{extras}{requirement.specifier}"


def applicable(
    requires_dist: Iterable[str], extras: set[str], environment: Mapping[str, str]
) -> list[Requirement]:
    """The requirements that hold in `environment` for a package asked for with `extras`."""
    found = []
    for text in requires_dist:
        requirement = Requirement(text)
        marker: Marker | None = requirement.marker
        if marker is None or any(marker.evaluate({**environment, "extra": e}) for e in extras | {""}):
            requirement.marker = None
            found.append(requirement)
    return found


def resolve(requirements: list[Requirement], arch: str) -> dict[NormalizedName, dict[str, Any]]:
    """pip's resolution for the image on `arch`: name -> the report's install item."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        command += ["--report", str(report), "--only-binary=:all:", "--python-version", PYTHON]
        command += ["--implementation", "cp", "--abi", f"cp{PYTHON.replace('.', '')}"]
        for tag in platforms(arch):
            command += ["--platform", tag]
        proc = subprocess.run([*command, *map(str, requirements)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"pip could not resolve for {arch}:\n{proc.stdout}{proc.stderr}")
        items = json.loads(report.read_text())["install"]
    return {canonicalize_name(item["metadata"]["name"]): item for item in items}


def environment(arch: str) -> dict[str, str]:
    """Marker values of the image's interpreter (Debian's CPython on Linux)."""
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": PYTHON,
        "python_full_version": f"{PYTHON}.0",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": arch,
    }


def lock_pins(requirements: list[Requirement]) -> dict[NormalizedName, Pin]:
    """The same versions on every arch (else the lock could not be one file), with every arch's wheel."""
    pins: dict[NormalizedName, Pin] = {}
    for arch in ARCHES:
        items = resolve(requirements, arch)
        versions = {name: item["metadata"]["version"] for name, item in items.items()}
        if pins and versions != {name: pin.version for name, pin in pins.items()}:
            raise RuntimeError(f"{arch} resolves other versions than {ARCHES[0]}: {versions}")
        for name, needs in walk(requirements, items, environment(arch)).items():
            pin = pins.setdefault(name, Pin(versions[name]))
            pin.hashes.add(items[name]["download_info"]["archive_info"]["hashes"]["sha256"])
            known = {str(r) for r in pin.needs}
            pin.needs += [r for r in needs if str(r) not in known]
    return pins


def walk(
    requirements: list[Requirement], items: Mapping[NormalizedName, dict[str, Any]], env: Mapping[str, str]
) -> dict[NormalizedName, list[Requirement]]:
    """What each resolved package needs, following the extras its dependents ask of it."""
    extras: dict[NormalizedName, set[str]] = {}
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in extras and requirement.extras <= extras[name]:
            continue
        asked = extras.setdefault(name, set())
        asked |= requirement.extras
        todo += applicable(items[name]["metadata"].get("requires_dist", []), asked, env)
    return {
        name: applicable(items[name]["metadata"].get("requires_dist", []), asked, env)
        for name, asked in extras.items()
    }


def render(pins: Mapping[NormalizedName, Pin], what: str, source: str) -> str:
    arches = " and ".join(ARCHES)
    lines = [HEADER.format(what=what, python=PYTHON, glibc=GLIBC_MINOR, arches=arches, source=source)]
    for name in sorted(pins):
        pin = pins[name]
        if pin.needs:
            lines.append(f"# {name} needs: {'; '.join(sorted(set(map(requirement_text, pin.needs))))}\n")
        hashes = "".join(f" \\\n    --hash=sha256:{digest}" for digest in sorted(pin.hashes))
        lines.append(f"{name}=={pin.version}{hashes}\n")
    return "".join(lines)


def parse(text: str) -> dict[NormalizedName, Pin]:
    """A lock file as `render` writes it."""
    pins: dict[NormalizedName, Pin] = {}
    needs: list[Requirement] = []
    current: Pin | None = None
    for line in text.splitlines():
        if match := NEEDS.match(line):
            needs = [Requirement(r) for r in match["needs"].split("; ")]
        elif match := PIN.match(line):
            current = Pin(match["version"], needs=needs)
            pins[canonicalize_name(match["name"])] = current
            needs = []
        if current is not None:
            current.hashes |= {m["digest"] for m in HASH.finditer(line)}
    return pins


def write_locks() -> list[str]:
    """Resolves both locks anew from pyproject.toml and writes them; returns a summary line per file."""
    dependencies, build = pyproject_requirements()
    said = []
    for path, requirements, what, source in (
        (LOCK, dependencies, "The image's Python packages", "[project] dependencies"),
        (BUILD_LOCK, build, "The wheel's build backend in the image", "[build-system] requires"),
    ):
        pins = lock_pins(requirements)
        path.parent.mkdir(exist_ok=True)
        path.write_text(render(pins, what, source))
        said.append(f"{path.relative_to(REPO)}: {len(pins)} packages")
    return said
