"""Huge texts and departing clients against the real server (``label-studio-ml start``, one worker).

A served fine-tuned version (published through the real model store, no training needed) makes
every ``/predict`` run the model. A request of forty 100,000-character texts is minutes of work:
when its client hangs up (as Label Studio does after 100 s), the work stops at the next batch,
and the next request is served. A 20 MB text costs a bounded amount of memory and leaves a
concurrent one-task request answering.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

from bert_classifier.model import BertClassifier
from hf_text.runtime import loader
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.support.backend_server import BERT_CLASSIFIER_DIR
from tests.support.hostile_clients import CONFIG, PROJECT, long_text, predict_body, send_and_leave
from tests.support.published_heads import publish_head
from tests.support.servers import backend

MIB = 1 << 20
#: Generous: "answers at all" (tests never assert timings); a minute of model work would not.
ANSWER_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A backend serving a published version of PROJECT; yields its URL and log file."""
    root = tmp_path_factory.mktemp("departing")
    loader.clear_cache()
    context = BackendContext.for_model(BertClassifier, Settings(model_dir=root / "models"), environ={})
    model = BertClassifier(
        project_id=PROJECT, label_config=CONFIG, context=context, hf_settings=HFSettings(max_length=64)
    )
    publish_head(model, ["sport", "tech"], winner=0)
    log = root / "backend.log"
    with backend(BERT_CLASSIFIER_DIR, {"MODEL_DIR": str(root / "models")}, workers=1, log=log) as url:
        yield url, log


def one_task_answers(url: str) -> list[str]:
    body = predict_body(["A late goal won it."])
    answer = requests.post(f"{url}/predict", json=body, timeout=ANSWER_TIMEOUT_S)
    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["results"]
    return [choice for region in item["result"] for choice in region["value"]["choices"]]


def wait_for_log(log: Path, pattern: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found.group(0)
        time.sleep(0.5)
    raise AssertionError(f"no {pattern!r} in the log within {timeout_s} s:\n{log.read_text()[-3000:]}")


def test_a_request_whose_client_hung_up_stops_and_the_next_is_served(served) -> None:
    url, log = served
    assert one_task_answers(url) == ["sport"]  # the published version serves
    texts = [long_text(seed, 100_000) for seed in range(40)]  # minutes of model work
    send_and_leave(url, predict_body(texts), after_s=3)
    wait_for_log(log, r"POST /predict: the client hung up", timeout_s=60)
    assert one_task_answers(url) == ["sport"]


def worker_rss(url: str) -> int:
    """The resident memory of the gunicorn worker serving ``url`` (its /metrics names its pid)."""
    pid = requests.get(f"{url}/metrics", timeout=ANSWER_TIMEOUT_S).json()["worker"]["pid"]
    return psutil.Process(pid).memory_info().rss


def test_a_20_mb_text_costs_bounded_memory_and_a_concurrent_request_answers(served) -> None:
    url, _ = served
    before = worker_rss(url)
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak.append(worker_rss(url))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    answers: dict[str, requests.Response] = {}
    huge = threading.Thread(
        target=lambda: answers.update(
            huge=requests.post(f"{url}/predict", json=predict_body([long_text(1, 20_000_000)]), timeout=300)
        )
    )
    huge.start()
    time.sleep(2)
    try:
        assert one_task_answers(url) == ["sport"]
    finally:
        huge.join()
        done.set()
        sampler.join()
    assert answers["huge"].status_code == 200
    assert len(answers["huge"].json()["results"]) == 1
    grown = max(peak) - before
    assert grown < 600 * MIB, f"the worker grew by {grown / MIB:.0f} MiB for one 20 MB text"
