"""The status page in a real headless browser (Debian's Chromium), against the classifier started
through its CLI: a browser at ``/`` lands on the page; while a training runs it shows a progress
bar and reloads itself; after a second training its learning curve has the first version's fp32
and int8 scores on the labels it never saw; no token appears. Screenshots: ``test-artifacts/``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import requests

from tests.classifier.test_app import labeled_tasks
from tests.conftest import load_fixture
from tests.support.backend_server import BERT_CLASSIFIER_DIR
from tests.support.browser import chromium, dump_dom, screenshot
from tests.support.fake_label_studio import fake_label_studio
from tests.support.servers import backend

TOKEN = "ls-token-status-page-98765"
#: Small, but long enough (MIN_TRAIN_STEPS) for the page to be read while the training runs.
TRAINING = {"NUM_TRAIN_EPOCHS": "1", "MIN_TRAIN_STEPS": "80", "MAX_LENGTH": "32", "WINDOW_STRIDE": "8",
            "LEARNING_RATE": "1e-4", "BATCH_SIZE": "4", "START_TRAINING_EACH_N_UPDATES": "0"}  # fmt: skip
START = load_fixture("classification_webhook_start_training.json")


def training(url: str, project: str) -> dict[str, Any]:
    return requests.get(f"{url}/metrics", timeout=30).json()["projects"].get(project, {}).get("training", {})


def wait(condition: Any, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.2)


def test_the_status_page_in_a_real_browser(tmp_path: Path) -> None:
    browser = chromium()
    tasks = labeled_tasks()  # eight positive, then eight negative
    first, later = tasks[0:4] + tasks[8:12], tasks[4:8] + tasks[12:16]
    served = list(first)  # what Label Studio holds at the first training
    with (
        fake_label_studio(served, token=TOKEN) as (label_studio, _),
        backend(BERT_CLASSIFIER_DIR, {"MODEL_DIR": str(tmp_path / "models"), **TRAINING}, workers=1) as url,
    ):
        setup = {**load_fixture("classification_setup.json"), "hostname": label_studio, "access_token": TOKEN}
        project = setup["project"]
        assert requests.post(f"{url}/setup", json=setup, timeout=30).status_code == 200

        assert requests.post(f"{url}/webhook", json=START, timeout=30).status_code == 201
        wait(lambda: (training(url, project).get("progress") or {}).get("step"), "training progress")
        running = dump_dom(browser, f"{url}/")  # a browser at the backend's URL is sent to the page
        screenshot(browser, f"{url}/status", "status-page-training.png")
        assert "<progress" in running and 'http-equiv="refresh"' in running
        assert re.search(r"step \d+ of \d+", running), running
        assert f"Project {project}" in running
        wait(lambda: training(url, project).get("runs") == 1, "first training's end")

        served.extend(later)  # eight labels the first version never saw
        assert requests.post(f"{url}/webhook", json=START, timeout=30).status_code == 201
        wait(lambda: training(url, project).get("runs") == 2, "second training's end")
        page = dump_dom(browser, f"{url}/status")
        screenshot(browser, f"{url}/status", "status-page.png", size=(1280, 720))

    assert "<svg" in page and len(re.findall(r'<circle class="point"', page)) >= 2  # fp32 and int8
    assert "fine-tuned" in page and label_studio in page
    assert 'http-equiv="refresh"' not in page  # nothing runs: no reloading
    assert TOKEN not in page and TOKEN not in running
