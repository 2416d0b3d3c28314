"""The image's locks (requirements/, tests/imagelock.py) still match pyproject.toml: every range it gives is
met by the pinned version, every package a pinned one needs is pinned too (and meets that need), nothing
else is pinned, and every pin carries a wheel hash. When one fails, `make image-lock` makes the locks anew."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tests.imagelock import BUILD_LOCK, LOCK, Pin, parse, pyproject_requirements
from tests.processes import REPO

REFRESH = "run `make image-lock` (python -m tests.image --lock)"


def unmet(
    requirements: list[Requirement], pins: Mapping[NormalizedName, Pin]
) -> tuple[list[str], set[NormalizedName]]:
    """(what the lock fails to give, starting from `requirements` and following what each pin needs; the
    pinned packages reached)."""
    problems: list[str] = []
    reached: set[NormalizedName] = set()
    todo = [("pyproject.toml", r) for r in requirements]
    while todo:
        wanted_by, requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{wanted_by} needs {requirement}, which is not pinned")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{wanted_by} needs {requirement}, pinned {name}=={pin.version}")
        elif name not in reached:
            reached.add(name)
            todo += [(name, r) for r in pin.needs]
    return problems, reached


LOCKS = {"dependencies": (LOCK, 0), "build-system": (BUILD_LOCK, 1)}


@pytest.mark.parametrize("which", LOCKS)
def test_the_lock_gives_exactly_what_pyproject_asks_for(which: str) -> None:
    path, index = LOCKS[which]
    pins = parse(path.read_text())
    problems, reached = unmet(pyproject_requirements()[index], pins)
    assert not problems, f"{path.relative_to(REPO)} is stale ({REFRESH}):\n" + "\n".join(problems)
    stale = sorted(set(pins) - reached)
    assert not stale, f"{path.relative_to(REPO)} pins {stale}, which nothing needs ({REFRESH})"
    unhashed = sorted(name for name, pin in pins.items() if not pin.hashes)
    assert not unhashed, f"{path.relative_to(REPO)}: no hash for {unhashed} ({REFRESH})"


def test_a_range_the_pin_misses_or_a_package_left_out_is_found() -> None:
    pins = parse(LOCK.read_text())
    kopf = pins[canonicalize_name("kopf")]
    narrower = [Requirement(f"kopf>{kopf.version}")]
    assert unmet(narrower, pins)[0] == [f"pyproject.toml needs {narrower[0]}, pinned kopf=={kopf.version}"]
    missing = {name: pin for name, pin in pins.items() if name != "click"}
    problems, _ = unmet([Requirement("kopf")], missing)
    assert [p for p in problems if "click" in p] and all(p.startswith("kopf needs ") for p in problems)


def test_the_dockerfile_installs_the_locks_with_hashes_required() -> None:
    dockerfile = " ".join((REPO / "Dockerfile").read_text().replace("\\\n", " ").split())
    for path in (LOCK, BUILD_LOCK):
        assert f"--require-hashes --only-binary=:all: -r {path.relative_to(REPO)}" in dockerfile, path.name
    # the wheel adds nothing unlocked, and its build uses the locked backend
    assert "--no-deps --no-index /wheels/" in dockerfile and "--no-build-isolation" in dockerfile
    assert "!requirements/" in (REPO / ".dockerignore").read_text().split()  # in the build context
