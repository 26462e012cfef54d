"""The folder tree stays the architecture: small modules, packages of a readable size, contracts kept.

``docs/ARCHITECTURE.md`` draws the floors; ``lint-imports`` (pyproject ``[tool.importlinter]``) keeps
imports pointing down. These checks keep the rooms small enough to read.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("label_studio_ml", "hf_text", "bert_classifier", "huggingface_ner", "bench")
#: Tests are read as often as code: the same bound on their modules' length.
WRITTEN = (*PACKAGES, "tests")
#: A module longer than this does more than one thing.
MAX_MODULE_LINES = 300
#: A package folder with more modules than this hides its structure: it wants sub-packages.
MAX_PACKAGE_MODULES = 15


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", WRITTEN)
def test_no_module_is_longer_than_a_few_screens(package: str) -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules(package)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"split these modules (over {MAX_MODULE_LINES} lines): {long}"


@pytest.mark.parametrize("package", PACKAGES[:4])
def test_no_package_folder_holds_too_many_modules(package: str) -> None:
    folders = {path.parent for path in _modules(package)}
    crowded = {
        str(folder.relative_to(ROOT)): count
        for folder in folders
        if (count := len([p for p in folder.glob("*.py") if p.name != "__init__.py"])) > MAX_PACKAGE_MODULES
    }
    assert crowded == {}, f"give these folders sub-packages (over {MAX_PACKAGE_MODULES} modules): {crowded}"


def test_every_package_says_what_it_is_for() -> None:
    silent = [
        str(init.relative_to(ROOT))
        for package in PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
        if not init.read_text().lstrip().startswith('"""')
    ]
    assert silent == []


def test_the_architecture_contract_holds() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a test dependency (requirements-test.txt)"
    run = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
