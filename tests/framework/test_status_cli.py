"""``label-studio-ml status URL``: the status page's summary in a terminal, from ``URL/metrics``."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import requests

from label_studio_ml.commands.status import main, render
from tests.conftest import BACKENDS, load_fixture
from tests.support.processes import free_port
from tests.support.servers import ROOT, backend

PROJECT = load_fixture("classification_setup.json")["project"]
AUTH = ("ls", "status-pass-0123")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

#: A report as ``/metrics`` writes it: one project training, one refused.
REPORT = {
    "projects": {
        "7.1700000000": {
            "model_version": "v2",
            "served": {"layer": "fine-tuned", "model_version": "v2", "why": "beats the instant head"},
            "label_studio": {"source": "label_studio", "labeled_tasks": 40},
            "training": {
                "state": "running",
                "started_at": 1000.0,
                "error": None,
                "progress": {"epoch": 1, "epochs": 3, "step": 10, "total_steps": 40, "loss": 0.4},
            },
        },
        "8.1700000001": {
            "model_version": None,
            "training": {"state": "failed", "error": "RuntimeError: out of memory"},
            "refused": {"reason": "<Taxonomy> is not served by BertClassifier", "at": 1.0},
        },
    },
    "worker": {"pid": 42, "uptime_s": 9.5, "training_slots": {"runner": "rq", "queue": "training",
               "queued_jobs": 1, "workers": ["w-1"]}, "instant_updates": {"events": [], "waiting": 0}},
}  # fmt: skip


def test_a_canned_report_prints_a_table_a_progress_bar_and_the_reasons() -> None:
    text = render(REPORT, now=1030.0)
    lines = text.splitlines()
    assert lines[0].split() == ["project", "serves", "labels", "training"]
    assert lines[2].split() == ["7.1700000000", "fine-tuned", "v2", "40", "running"]
    assert lines[3].split() == ["8.1700000001", "-", "-", "failed"]
    assert "7.1700000000: [########......................]  25%" in lines
    assert "  running: epoch 1 of 3, step 10 of 40, loss 0.4; 30 s so far; about 1 min 30 s left" in lines
    assert "  last error: RuntimeError: out of memory" in lines
    assert "  refused config: <Taxonomy> is not served by BertClassifier" in lines
    assert "queue: training: 1 job(s) waiting" in lines and "workers: w-1" in lines


def test_a_url_that_does_not_answer_is_one_line(capsys) -> None:
    assert main(f"http://127.0.0.1:{free_port()}") == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "does not answer" in err


def test_against_a_real_backend_with_basic_auth(tmp_path) -> None:
    labeled = tmp_path / "labeled.json"
    labeled.write_text(json.dumps([load_fixture("classification_exported_task_tasks_list.json")]))
    env = {"MODEL_DIR": str(tmp_path / "models"), "KEYWORD_TRAINING_FILE": str(labeled)}
    args = ["--basic-auth-user", AUTH[0], "--basic-auth-pass", AUTH[1]]
    with backend(BACKENDS / "keyword", env, workers=1, extra_args=args, auth=AUTH) as url:
        setup = load_fixture("classification_setup.json")
        assert requests.post(f"{url}/setup", json=setup, auth=AUTH, timeout=10).ok
        start = load_fixture("classification_webhook_start_training.json")
        assert requests.post(f"{url}/webhook", json=start, auth=AUTH, timeout=10).status_code == 201
        version = trained_version(url)
        browser = requests.get(url, auth=AUTH, headers={"Accept": BROWSER}, timeout=10)
        assert browser.url == f"{url}/status" and "<svg" not in browser.text and PROJECT in browser.text
        assert requests.get(url, auth=AUTH, timeout=10).json()["status"] == "UP"  # curl: JSON as before
        command = [sys.executable, "-m", "label_studio_ml.cli", "status", url]
        refused = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
        ran = subprocess.run([*command, "--user", AUTH[0], "--password", AUTH[1]],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert refused.returncode == 1 and "asks for basic auth" in refused.stderr
    assert ran.returncode == 0, ran.stderr
    row = next(line for line in ran.stdout.splitlines() if line.startswith(PROJECT))
    assert row.split()[1:] == [version, "-", "idle"]


def trained_version(url: str) -> str:
    """The version the first training published (the keyword model trains in an instant)."""
    deadline = time.monotonic() + 30
    while True:
        project = requests.get(f"{url}/metrics", auth=AUTH, timeout=10).json()["projects"][PROJECT]
        if project["training"]["runs"] >= 1 and project["training"]["state"] == "idle":
            return project["model_version"]
        assert time.monotonic() < deadline, project["training"]
        time.sleep(0.1)
