"""crdgen's command line: a folder it cannot read or a broken marker is one line and exit 2, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from azure_speech_operator import crdgen

from .crd_support import ROOT


def test_a_missing_crds_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nonexistent"
    assert crdgen.main(["--check", "--crds", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"{crdgen.GENERATOR}: No such file or directory: {missing / crdgen.KINDS[0].file}"
    ]


def test_a_broken_marker_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "crds", tmp_path, dirs_exist_ok=True)
    path = tmp_path / crdgen.KINDS[0].file
    path.write_text(path.read_text().replace("# END generated spec.azure", "# end"))
    assert crdgen.main(["--check", "--crds", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "no '# END generated spec.azure'" in err
