"""The README's "Label Studio text templates" table against Label Studio 1.23.2's installed templates:
every text template has a row (none forgotten, none stale), and each row's *served* / *in part* /
*refused* is what each backend's ``/setup`` answers for that template's config."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from bert_classifier.model import BertClassifier
from huggingface_ner import HuggingFaceNER
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from tests.conftest import wait_healthy
from tests.support.templates import Template, setup_outcome, templates_dir, text_templates

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Label Studio text templates"
#: Rows another change is filling in: not compared (yet).
IN_PROGRESS = "NER (in progress)"
ROW = re.compile(r"^\| `(?P<key>[^`]+)` \| (?P<classifier>[^|]+) \| (?P<ner>[^|]+) \|")


def readme_rows() -> dict[str, dict[str, str]]:
    """``group/folder`` → ``{"BertClassifier": cell, "HuggingFaceNER": cell}`` from the README table."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            cells = {"BertClassifier": match["classifier"].strip(), "HuggingFaceNER": match["ner"].strip()}
            assert match["key"] not in rows, f"{match['key']} has two rows"
            rows[match["key"]] = cells
    return rows


@pytest.fixture(scope="module")
def templates() -> list[Template]:
    root = templates_dir()
    if root is None:
        pytest.skip("Label Studio 1.23.2 is not installed (make test installs it for the e2e tests)")
    found = text_templates(root)
    assert len(found) >= 20, f"only {len(found)} text templates under {root}"
    return found


def test_every_text_template_has_a_row_and_every_row_a_template(templates: list[Template]) -> None:
    rows = readme_rows()
    keys = {template.key for template in templates}
    assert sorted(keys - set(rows)) == [], "text templates missing from the README table"
    assert sorted(set(rows) - keys) == [], "README rows naming no text template of Label Studio 1.23.2"
    for key, cells in rows.items():
        for cell in cells.values():
            assert cell in {"served", "in part", "refused", IN_PROGRESS}, (key, cell)


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    found = {}
    for model_class in (BertClassifier, HuggingFaceNER):
        folder = tmp_path_factory.mktemp(model_class.__name__)
        client = create_app(model_class, Settings(model_dir=folder)).test_client()
        wait_healthy(client, timeout=120)
        found[model_class.__name__] = client
    return found


def test_the_table_says_what_each_backend_does_with_each_template(
    templates: list[Template], clients: dict[str, Any]
) -> None:
    rows = readme_rows()
    wrong = []
    logging.disable(logging.WARNING)  # every refusal and ignored control is a WARNING: 60 of them
    try:
        for number, template in enumerate(templates, start=1):
            for name, client in clients.items():
                claimed = rows.get(template.key, {}).get(name)
                if claimed in (None, IN_PROGRESS):
                    continue
                outcome, reasons = setup_outcome(client, f"{number}.1700000000", template.config)
                if outcome != claimed:
                    wrong.append(f"{template.key} {name}: README {claimed!r}, /setup {outcome!r} {reasons}")
    finally:
        logging.disable(logging.NOTSET)
    assert wrong == [], "\n".join(wrong)
