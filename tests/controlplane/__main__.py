"""`python -m tests.controlplane --kubeconfig PATH` (`make cluster`): builds what is missing, starts the
control plane, writes an admin kubeconfig to PATH once the apiserver is ready, and runs until SIGTERM or
Ctrl-C, then stops everything and removes its files (unless --keep)."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path

from .build import HELM, BuildError, ensure_binaries, helm_version, kubernetes_version
from .cluster import ControlPlane


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.controlplane", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, help="where to write the admin kubeconfig (required)")
    parser.add_argument("--workdir", type=Path, help="data, certificates and logs (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir after stopping")
    parser.add_argument("--build-only", action="store_true", help="build the binaries and Helm, then exit")
    parser.add_argument(
        "--link-tools",
        type=Path,
        metavar="DIR",
        help="with --build-only: link the built kubectl and helm into DIR",
    )
    args = parser.parse_args(argv)
    if args.build_only:
        return _build_only(args.link_tools)
    if args.kubeconfig is None:
        parser.error("--kubeconfig is required")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    plane = ControlPlane(args.workdir, keep=args.keep, progress=lambda line: print(line, flush=True))
    try:
        plane.start()
        args.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plane.admin_kubeconfig, args.kubeconfig)
        args.kubeconfig.chmod(0o600)
        print(f"kubeconfig written to {args.kubeconfig}; logs in {plane.workdir}; Ctrl-C stops", flush=True)
        while not stop.wait(1.0):
            dead = [p.name for p in plane.processes if not p.running]
            if dead:
                print(f"{', '.join(dead)} exited; stopping (logs in {plane.workdir})", file=sys.stderr)
                plane.keep = True
                return 1
        return 0
    except BuildError as exc:
        print(f"control plane build failed: {exc}", file=sys.stderr)
        return 1
    finally:
        plane.stop()
        print("control plane stopped", flush=True)


def _build_only(link_dir: Path | None) -> int:
    try:
        binaries = ensure_binaries(lambda line: print(line, flush=True))
        binaries |= ensure_binaries(lambda line: print(line, flush=True), HELM)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    if link_dir is not None:
        for name, version in (("kubectl", kubernetes_version()), ("helm", helm_version())):
            link = link_dir / name
            link.unlink(missing_ok=True)
            link.symlink_to(binaries[name])
            print(f"{name} {version}: {link} -> {binaries[name]}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
