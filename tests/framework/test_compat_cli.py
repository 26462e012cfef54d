"""``label-studio-ml create`` (alias ``init``) and upstream's ``start`` flags.

A scaffolded backend passes its own tests at once, lints clean, and serves through
``label-studio-ml start`` (gunicorn).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from label_studio_ml import cli
from label_studio_ml.commands.scaffold import (
    ScaffoldError,
    class_name_for,
    create_backend,
    source_from_script,
)
from tests.conftest import BACKENDS
from tests.support.servers import backend

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
FILES = {
    ".dockerignore",
    "Dockerfile",
    "README.md",
    "_wsgi.py",
    "docker-compose.yml",
    "model.py",
    "requirements.txt",
    "test_api.py",
}
CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="mood" toName="text"><Choice value="Happy"/><Choice value="Sad"/></Choices></View>'
)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "label-studio-ml"), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_create_scaffolds_a_backend_named_after_its_directory(tmp_path) -> None:
    result = run_cli("create", "sentiment-model", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    directory = tmp_path / "sentiment-model"
    assert {path.name for path in directory.iterdir()} == FILES
    assert "class SentimentModel(LabelStudioMLBase)" in (directory / "model.py").read_text()
    assert "init_app(model_class=SentimentModel)" in (directory / "_wsgi.py").read_text()
    assert "label-studio-ml start sentiment-model" in result.stdout

    again = run_cli("init", "sentiment-model", cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr
    (directory / "model.py").write_text("changed")
    assert (
        run_cli("init", "sentiment-model", "--force", "--root-dir", str(tmp_path), cwd=ROOT).returncode == 0
    )
    assert "class SentimentModel" in (directory / "model.py").read_text()


def test_a_scaffolded_backend_passes_its_own_tests_and_lints_clean(tmp_path) -> None:
    directory = create_backend(tmp_path / "my_backend")
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0 and "3 passed" in tests.stdout, tests.stdout + tests.stderr
    lint = subprocess.run(
        [str(BIN / "ruff"), "check", "--isolated", "--line-length", "110", "--select", "E,F,W,B,UP,SIM", "."],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert lint.returncode == 0, lint.stdout
    hadolint = subprocess.run(
        [str(BIN / "hadolint"), "Dockerfile"], cwd=directory, capture_output=True, text=True
    )
    assert hadolint.returncode == 0, hadolint.stdout


def test_a_scaffolded_backend_serves_through_label_studio_ml_start_with_upstream_flags(tmp_path) -> None:
    create_backend(tmp_path / "served")
    models = tmp_path / "state"
    command = [
        str(BIN / "label-studio-ml"),
        "start",
        "served",
        "--root-dir",
        str(tmp_path),
        "--model-dir",
        str(models),
    ]
    with backend(tmp_path / "served", {}, workers=1, command=command) as url:
        setup = requests.post(f"{url}/setup", json={"project": "1.1", "schema": CONFIG}, timeout=5)
        tasks = [{"id": 1, "data": {"text": "a"}}, {"id": 2, "data": {"text": "b"}}]
        body = {"project": "1.1", "label_config": CONFIG, "tasks": tasks}
        predicted = requests.post(f"{url}/predict", json=body, timeout=10)
    assert setup.status_code == 200 and predicted.status_code == 200
    results = predicted.json()["results"]
    assert [item["result"] for item in results] == [[], []]
    assert {item["model_version"] for item in results} == {setup.json()["model_version"]}
    assert (models / "Served" / "state.sqlite3").is_file()  # --model-dir reached the server


def test_start_accepts_upstreams_port_debug_and_root_dir_flags(tmp_path) -> None:
    options = cli.build_parser({}).parse_args(
        ["start", "my_backend", "--root-dir", str(tmp_path), "-p", "9123", "-d", "--model-dir", "m"]
    )
    command = cli.gunicorn_command(Path(options.root_dir) / options.directory, options)
    flags = dict(zip(command[3:-1:2], command[4::2], strict=False))
    assert flags["--bind"].endswith(":9123") and flags["--log-level"] == "debug"
    assert flags["--chdir"] == str((tmp_path / "my_backend").resolve())
    env = cli.child_environment(tmp_path / "my_backend", options, {})
    assert env["LOG_LEVEL"] == "DEBUG" and env["MODEL_DIR"] == str(Path("m").resolve())


def test_create_from_an_existing_script_serves_its_class(tmp_path) -> None:
    script = BACKENDS / "sklearn_text" / "model.py"
    source = source_from_script(str(script))
    assert (source.module, source.model_class) == ("model", "SklearnTextClassifier")
    directory = create_backend(tmp_path / "from_script", source)
    assert (directory / "model.py").read_text() == script.read_text()
    assert "from model import SklearnTextClassifier" in (directory / "_wsgi.py").read_text()
    assert not (directory / "test_api.py").exists()  # our template tests a different model

    two = tmp_path / "two.py"
    two.write_text(
        "from label_studio_ml.model import LabelStudioMLBase\n"
        "class A(LabelStudioMLBase): pass\nclass B(LabelStudioMLBase): pass\n"
    )
    with pytest.raises(ScaffoldError, match="pick one"):
        source_from_script(str(two))
    assert source_from_script(f"{two}:B").model_class == "B"


@pytest.mark.parametrize(
    ("name", "expected"), [("my_backend", "MyBackend"), ("ner-v2", "NerV2"), ("2nd", "Model2nd")]
)
def test_the_model_class_is_named_after_the_directory(name, expected) -> None:
    assert class_name_for(name) == expected
