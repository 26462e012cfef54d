"""Active learning in distributed mode against a real Label Studio 1.23.2: one serving replica
(gunicorn) and one RQ training worker (``label-studio-ml worker``) sharing a Redis and a model
store. Annotations made in Label Studio train in the worker; the worker, in the same RQ job, runs
the round for the fine-tuned version: Label Studio's project then points at that version with
uncertainty sampling, holds the round's predictions, and "Label All Tasks" hands out one of the
least confident tasks under it.

Instant learning and zero-shot are off (``FAST_TRAINING``): no instant version races the
fine-tuned one, so the only round after the annotations is the worker's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_active_learning_e2e import pool_scores, project_fields
from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, BackendServer
from tests.support.e2e_steps import FAST_TRAINING, choice, connect, metrics, personal_access_token
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser, wait_for
from tests.support.processes import ManagedProcess, log_tail

pytestmark = pytest.mark.e2e

ANNOTATIONS = 5  # one article of each of the five labels; the fifth starts the training


def listening(backend: BackendServer) -> list[str]:
    """The RQ workers the replica sees listening on the training queue."""
    report = requests.get(f"{backend.url}/metrics", timeout=10).json()
    return report["worker"]["training_slots"]["workers"]


def trained(backend: BackendServer, project: int) -> dict[str, Any] | None:
    """The project's metrics once its first training finished (idle again), else ``None``."""
    entry = metrics(backend, project)
    row = entry.get("training", {})
    return entry if row.get("runs") == 1 and row.get("state") == "idle" else None


def test_the_worker_runs_the_round_of_the_version_it_trained(
    ls_user: LabelStudioUser, label_studio: LabelStudioServer, start_backend: Any, redis_url: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    shared = {
        **FAST_TRAINING,
        **personal_access_token(label_studio),  # Label Studio refuses /setup's legacy token
        "ACTIVE_LEARNING": "true",
        "START_TRAINING_EACH_N_UPDATES": str(ANNOTATIONS),
        "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/5",  # a database of its own
        "MODEL_STORE": str(tmp_path / "store"),
    }
    replica = start_backend(BERT_CLASSIFIER_DIR, env=shared, workers=1)
    env = {**os.environ, **shared, "MODEL_DIR": str(tmp_path / "worker"), "HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-m", "label_studio_ml.cli", "worker", str(BERT_CLASSIFIER_DIR)]
    worker = ManagedProcess("worker", argv, env, tmp_path / "worker.log")
    worker.start()
    try:
        wait_for(lambda: len(listening(replica)) == 1, 120, "the worker to listen")
        articles = bbc_news.articles(per_label=6, max_words=48)  # a pool of 30, grouped by label
        project = ls_user.create_project("e2e distributed active learning", bbc_news.LABEL_CONFIG)
        ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in articles])
        connect(ls_user, project, replica)
        annotated = ids[:: len(ids) // ANNOTATIONS]
        for task in annotated:
            ls_user.annotate(task, choice(articles[ids.index(task)][1]))

        # The training runs in the worker, and so does the round of the version it publishes.
        try:
            entry = wait_for(lambda: trained(replica, project), 240, "the training in the worker")
        except TimeoutError:
            raise AssertionError(f"{metrics(replica, project)}\n{log_tail(worker.log_path)}") from None
        version, row, active = entry["model_version"], entry["training"], entry.get("active_learning") or {}
        assert row["failures"] == 0 and row["trained_by"].split(":")[1] == str(worker.pid), row
        assert version != "0.0.1" and version in entry["versions"], entry
        assert active.get("version") == version and active.get("error") is None, active
        assert active["by"] == row["trained_by"] and active["role"] == "worker", active
        assert f"under {version}" in worker.log_path.read_text(errors="replace")

        # Label Studio: the project follows the fine-tuned version, with uncertainty sampling ...
        fields = project_fields(ls_user, project)
        assert (fields["model_version"], fields["sampling"]) == (version, "Uncertainty sampling"), fields
        texts = {task: text for task, (text, _) in zip(ids, articles, strict=True)}
        unlabeled = {task: text for task, text in texts.items() if task not in annotated}
        assert active["pool"] == len(unlabeled) and active["written"] == 20, active
        # ... holds the round's predictions of that version (and none of an older one) ...
        stored = {task: ls_user.predictions(task) for task in unlabeled}
        written = {task: p for task, items in stored.items() for p in items if p["model_version"] == version}
        assert len(written) == active["written"], stored
        assert all(p["model_version"] == version for items in stored.values() for p in items), stored
        # ... and "Label All Tasks" hands out one of the least confident tasks under it.
        scores, answered = pool_scores(replica, ls_user.project_key(project), unlabeled)
        assert answered == {version}, answered
        task = ls_user.request("GET", f"/api/projects/{project}/next/").json()["id"]
        rank = sum(score < scores[task] for score in scores.values()) / len(scores)
        assert rank < 0.1, (task, scores[task], sorted(scores.values())[:5], version)
        assert written[task]["score"] == pytest.approx(scores[task], abs=1e-5), (written[task], scores[task])
    finally:
        worker.stop()
