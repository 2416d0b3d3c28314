"""docs/errors.md holds the classification table exactly as the code has it."""

from __future__ import annotations

import re
from pathlib import Path

from azure_speech_operator.azure import CODE_CLASSES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_errors_doc_matches_the_table() -> None:
    text = (DOCS / "errors.md").read_text()
    documented = dict(re.findall(r"^\| `(\w+)` \| ([a-z-]+) \|", text, flags=re.M))
    assert documented == {code: cls.value for code, cls in CODE_CLASSES.items()}


def test_client_doc_names_the_marker_key() -> None:
    from azure_speech_operator.azure import MARKER_KEY

    assert f"`{MARKER_KEY}`" in (DOCS / "client.md").read_text()


def test_errors_doc_lists_the_status_codes() -> None:
    from azure_speech_operator.azure.errors import STATUS_CODES

    text = (DOCS / "errors.md").read_text()
    documented = {int(s): c for s, c in re.findall(r"^\| (\d{3}) \| `(\w+)` \|", text, flags=re.M)}
    assert documented == STATUS_CODES
