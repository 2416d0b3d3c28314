"""`make image`: the operator's container image from the Dockerfile, without a Docker daemon or a registry.

1. buildah and debootstrap from Debian's apt repository if they are missing (as root).
2. The base, `localhost/debian:<point release>-slim`: Debian 12 (bookworm) made with `debootstrap
   --variant=minbase` from Debian's mirror, security updates applied, slimmed as Debian's own slim images are
   (no docs, man pages or locales; apt keeps no lists or packages), imported with `buildah from scratch`. The
   root filesystem's tarball is cached in ~/.cache/azure-speech-operator/image/, the image in buildah's
   storage; `--rebase` makes both anew (a base ages: it carries the security updates of the day it was made).
3. `buildah bud --storage-driver vfs --isolation chroot --pull=never` of the Dockerfile with that base.
4. `azure-speech-operator --version` inside the image, then the image's size.

The Dockerfile installs the locked Python packages of requirements/; `--lock` (`make image-lock`) only
resolves them anew from pyproject.toml (tests/imagelock.py).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.controlplane.build import cache_root
from tests.imagelock import write_locks
from tests.processes import REPO

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SOURCES = f"""\
Types: deb
URIs: {MIRROR}
Suites: {SUITE} {SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
# As Debian's slim images: dpkg leaves these out from now on, and they are deleted from the base.
SLIM_EXCLUDES = (
    "/usr/share/doc/*",
    "/usr/share/man/*",
    "/usr/share/info/*",
    "/usr/share/locale/*",
    "/usr/share/lintian/*",
    "/usr/share/groff/*",
)
APT_CLEAN = """\
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
"""
STORAGE = ("--storage-driver", "vfs")
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class ImageError(RuntimeError):
    """A step failed; the message names the command and its output."""


def run(command: Sequence[str], what: str, **kwargs: object) -> str:
    proc = subprocess.run(list(command), capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()[-4000:]
        raise ImageError(f"{what}: `{' '.join(command)}` exited {proc.returncode}:\n{output}")
    return str(proc.stdout)


def buildah(*args: str, what: str = "buildah") -> str:
    return run(["buildah", *STORAGE, *args], what)


def ensure_tools(progress: Callable[[str], None]) -> None:
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ImageError(
            f"{', '.join(missing)} missing: install them (Debian: apt-get install {' '.join(missing)})"
        )
    progress(f"installing {', '.join(missing)} from Debian's apt repository")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], "apt-get update", env=env)
    run(["apt-get", "install", "-y", "-q", *missing], "installing the image tools", env=env)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _remove_children(directory: Path) -> None:
    for path in directory.glob("*"):
        _remove(path)


def _make_rootfs(rootfs: Path, progress: Callable[[str], None]) -> str:
    """debootstrap, security updates, slimmed; returns the Debian point release (e.g. 12.15)."""
    shutil.rmtree(rootfs, ignore_errors=True)
    progress(f"debootstrap --variant=minbase {SUITE} from {MIRROR} (about a minute)")
    run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), MIRROR], "debootstrap")
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES)
    (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(APT_CLEAN)
    excludes = (
        "".join(f"path-exclude {p}\n" for p in SLIM_EXCLUDES) + "path-include /usr/share/doc/*/copyright\n"
    )
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker").write_text(excludes)
    progress("applying Debian's security updates to the base")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["chroot", str(rootfs), "apt-get", "update", "-q"], "apt-get update in the base", env=env)
    run(["chroot", str(rootfs), "apt-get", "upgrade", "-y", "-q"], "apt-get upgrade in the base", env=env)
    for pattern in SLIM_EXCLUDES:
        if not pattern.startswith("/usr/share/doc/"):
            _remove_children(rootfs / pattern.strip("/*"))
    for path in (rootfs / "usr/share/doc").glob("*/*"):
        if path.name != "copyright":
            _remove(path)
    for directory in ("var/lib/apt/lists", "var/cache/apt", "var/log"):  # apt's and dpkg's leftovers
        for path in (rootfs / directory).rglob("*"):
            if not path.is_dir() or path.is_symlink():
                path.unlink()
    for directory in ("tmp", "dev", "proc", "sys"):  # the container runtime provides /dev, /proc and /sys
        _remove_children(rootfs / directory)
    for name in ("etc/resolv.conf", "etc/hostname"):  # the container runtime provides them
        (rootfs / name).unlink(missing_ok=True)
    (rootfs / "etc/machine-id").write_text("")
    return (rootfs / "etc/debian_version").read_text().strip()


def image_id(name: str) -> str | None:
    """The image's id, None when there is no image of that name."""
    proc = subprocess.run(["buildah", *STORAGE, "images", "--quiet", "--no-trunc", name], capture_output=True)
    found = proc.stdout.decode().strip()
    return found if proc.returncode == 0 and found else None


def drop_replaced(name: str, old: str | None) -> None:
    """Removes the image `name` named before a rebuild (vfs storage keeps every layer whole: about 250 MB)."""
    if old is not None and image_id(name) != old:
        subprocess.run(["buildah", *STORAGE, "rmi", old], capture_output=True)


def ensure_base(progress: Callable[[str], None], *, rebase: bool = False) -> str:
    """The base image's name, made (or imported from the cached tarball) when missing."""
    cache = cache_root() / "image"
    tarball, version_file = cache / f"debian-{SUITE}-slim.tar", cache / f"debian-{SUITE}-slim.version"
    if rebase or not tarball.exists() or not version_file.exists():
        rootfs = cache / "rootfs"
        version = _make_rootfs(rootfs, progress)
        partial = tarball.with_suffix(".partial")
        run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], "packing the base")
        partial.replace(tarball)
        version_file.write_text(version)
        shutil.rmtree(rootfs)
    version = version_file.read_text().strip()
    name = f"localhost/debian:{version}-slim"
    old = image_id(name)
    if old is not None and not rebase:
        return name
    progress(f"importing the base {name} from {tarball}")
    container = buildah("from", "scratch", what="a scratch container").strip()
    try:
        buildah("add", container, str(tarball), "/", what="adding the base's files")
        buildah(
            "config",
            "--env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--cmd",
            "bash",
            "--label",
            f"org.opencontainers.image.version={version}",
            "--label",
            f"org.opencontainers.image.description=Debian {version} ({SUITE}) minbase, slim, by make image",
            container,
            what="configuring the base",
        )
        buildah("commit", "--rm", container, name, what="committing the base")
    except ImageError:
        with contextlib.suppress(ImageError):
            buildah("rm", container)
        raise
    drop_replaced(name, old)
    return name


def _build_ca() -> list[str]:
    """The build machine's CA bundle as the build's `build-ca` secret: pip in the build stage trusts it, so a
    network that inspects TLS (with its own CA in the machine's bundle) does not break the download."""
    for candidate in (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"), HOST_CA_BUNDLE):
        if candidate and Path(candidate).is_file():
            return ["--secret", f"id=build-ca,src={candidate}"]
    return []


def _revision() -> str:
    """The commit the image is built from, `-dirty` when the package's sources differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "HEAD")
    if not commit:
        return "unknown"
    changed = git(
        "status", "--porcelain", "--", "operator", "pyproject.toml", "README.md", "Dockerfile", "requirements"
    )
    return commit + ("-dirty" if changed else "")


def build(tag: str, base: str, version: str, revision: str) -> None:
    buildah(
        "bud",
        "--isolation",
        "chroot",
        "--pull=never",
        "--layers=false",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        f"VERSION={version}",
        "--build-arg",
        f"REVISION={revision}",
        *_build_ca(),
        "--file",
        str(REPO / "Dockerfile"),
        "--tag",
        tag,
        str(REPO),
        what="building the image",
    )


def run_in_image(tag: str, *command: str) -> str:
    """`command` in a container of the image (as its user; buildah run does not use the entrypoint)."""
    container = buildah("from", "--pull=never", tag, what="a container of the image").strip()
    try:
        return buildah("run", "--isolation", "chroot", container, "--", *command, what=" ".join(command))
    finally:
        with contextlib.suppress(ImageError):
            buildah("rm", container)


def image_size(tag: str) -> str:
    """As buildah reports it (e.g. `226 MB`): the size of the image's layers, uncompressed."""
    images = json.loads(buildah("images", "--json", tag, what="the image's size"))
    return str(images[0]["size"])


def main(argv: Sequence[str] | None = None) -> int:
    from azure_speech_operator import __version__

    parser = argparse.ArgumentParser(prog="python -m tests.image", description=__doc__.split("\n")[0])
    parser.add_argument("--tag", default=f"localhost/azure-speech-operator:{__version__}")
    parser.add_argument("--rebase", action="store_true", help="make the base anew (today's security updates)")
    parser.add_argument(
        "--lock",
        action="store_true",
        help="only resolve requirements/*.txt anew from pyproject.toml's ranges (tests/imagelock.py)",
    )
    args = parser.parse_args(argv)

    def progress(line: str) -> None:
        print(line, flush=True)

    if args.lock:
        for line in write_locks():
            progress(line)
        return 0

    started = time.monotonic()
    cache = cache_root() / "image"
    cache.mkdir(parents=True, exist_ok=True)
    try:
        ensure_tools(progress)
        with (cache / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time: they share the base and buildah's storage
            base = ensure_base(progress, rebase=args.rebase)
            progress(f"buildah bud {args.tag} on {base} (vfs storage, chroot isolation)")
            old = image_id(args.tag)
            build(args.tag, base, __version__, _revision())
            drop_replaced(args.tag, old)
        said = run_in_image(args.tag, "azure-speech-operator", "--version").strip()
        # imports what the operator runs on (kopf, the kubernetes client, ...): the image lacks none of it
        run_in_image(args.tag, "azure-speech-operator", "run", "--help")
        user = run_in_image(args.tag, "id", "-u").strip()
    except ImageError as exc:
        print(f"make image: {exc}", file=sys.stderr)
        return 1
    expected = f"azure-speech-operator {__version__}"
    if said != expected or user != "65532":
        print(
            f"make image: the image says {said!r} as uid {user}, expected {expected!r} as 65532",
            file=sys.stderr,
        )
        return 1
    size = image_size(args.tag)
    print(
        f"{args.tag}: `azure-speech-operator --version` says {said!r} (uid {user}); "
        f"{size}; built in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
