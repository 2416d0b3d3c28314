"""The documentation points only at what the repository holds: relative links (and their #anchors), repository
paths named in README.md and docs/*.md, and every `*.md` file named in docs, code, comments and examples."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_MD_NAME = re.compile(r"(?<![\w/.-])(?:[\w.-]+/)*([\w.-]+\.md)\b")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _CODE.sub("", path.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"(?m)^#+\s+(.*)$", text)}


def _tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", *patterns], cwd=REPO, capture_output=True, text=True, check=True)
    return [REPO / line for line in out.stdout.splitlines() if (REPO / line).exists()]


def _path_pattern() -> re.Pattern[str]:
    """`tests/kubeapi/`, `docs/errors.md`, `tests/unit/test_speech_*.py`: a top-level folder of the
    repository, then a folder (ending in /) or a file with an extension ("deploy/redeploy" is neither)."""
    top = sorted({p.relative_to(REPO).parts[0] for p in _tracked() if len(p.relative_to(REPO).parts) > 1})
    folders = "|".join(map(re.escape, top))
    return re.compile(rf"(?<![\w./-])((?:{folders})/[\w./*-]*(?:/|\.[A-Za-z]+))(?![\w/-])")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_and_anchors_exist(doc: Path) -> None:
    missing = []
    for match in _LINK.finditer(_CODE.sub("", doc.read_text())):
        target = match.group(1)
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        broken_anchor = bool(anchor) and path.suffix == ".md" and anchor not in _anchors(path)
        if not path.exists() or broken_anchor:
            missing.append(target)
    assert not missing, f"{doc.name} links to what does not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_repository_paths_named_exist(doc: Path) -> None:
    missing = []
    for match in _path_pattern().finditer(doc.read_text()):
        named = match.group(1)
        found = list(REPO.glob(named.rstrip("/"))) if "*" in named else [REPO / named]
        if not any(p.exists() for p in found):
            missing.append(named)
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_markdown_files_named_anywhere_exist() -> None:
    """A `*.md` named in docs, code comments or examples is one of the repository's own (no design notes
    kept elsewhere), and no path of a developer's machine appears."""
    known = {p.name for p in _tracked("*.md")}
    sources = _tracked("README.md", "docs", "operator", "tests", "examples", "crds", "bench", "deploy", ".ci")
    wrong = []
    for source in sources:
        if source.suffix not in (".md", ".py", ".yaml", ".yml", ".toml", ".txt", "") or source == Path(
            __file__
        ):
            continue
        text = source.read_text(errors="replace")
        wrong += [
            f"{source.relative_to(REPO)}: {m.group(1)}"
            for m in _MD_NAME.finditer(text)
            if m.group(1) not in known
        ]
        wrong += [f"{source.relative_to(REPO)}: /work/" for _ in re.finditer(r"/work/", text)]
    assert not wrong, "\n".join(wrong)
