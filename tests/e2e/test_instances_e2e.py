"""Two Label Studios, each with a project of the same id, connected to one backend: two projects.

A second Label Studio (or a reinstalled one) numbers its projects from 1 again. The backend tells
them apart by creation time, as Label Studio names a project in ``/setup`` and ``/predict``: each
instance's project learns only from its own annotations, keeps its own connection, and nothing
"moves". A second Label Studio costs one fresh start (≈30-45 s) on top of the session's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, StartBackend
from tests.support.e2e_steps import choice, connect, log_tail
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser, wait_for

pytestmark = pytest.mark.e2e


def project_with_id(user: LabelStudioUser, wanted: int, title: str) -> int:
    """A new project numbered ``wanted``: a fresh Label Studio creates fillers until it gets there."""
    while True:
        project = user.create_project(title, bbc_news.LABEL_CONFIG)
        if project >= wanted:
            assert project == wanted, f"{title}: got project {project}, wanted {wanted}"
            return project


def predicted(user: LabelStudioUser, project: int, task: int) -> list[dict]:
    """The task's result as Label Studio gets it now (its stored prediction deleted, then retrieved)."""
    user.delete_predictions(project, [task])
    user.retrieve_predictions(project, [task])
    (prediction,) = user.predictions(task)
    return prediction["result"]


def test_two_label_studios_with_the_same_project_id_get_separate_models(
    ls_user: LabelStudioUser, start_backend: StartBackend, tmp_path: Path
) -> None:
    # Zero-shot off: a prediction then shows only what annotations taught (none: an empty result).
    # Every decision shown, however unsure (a head from five labels often is).
    env = {"ZERO_SHOT": "off", "START_TRAINING_EACH_N_UPDATES": "0", "PREDICTION_MIN_SCORE": "0"}
    backend = start_backend(BERT_CLASSIFIER_DIR, env=env)
    pairs = bbc_news.articles(per_label=2, max_words=40)
    texts = [{"data": {"text": text}} for text, _ in pairs]
    first = ls_user.create_project("instance A", bbc_news.LABEL_CONFIG)
    with LabelStudioServer(data_dir=tmp_path / "second-label-studio") as second_server:
        other_user = LabelStudioUser(second_server.url, second_server.personal_access_token())
        second = project_with_id(other_user, first, "instance B")
        tasks_a = ls_user.import_tasks(first, texts)
        tasks_b = other_user.import_tasks(second, texts)
        connect(ls_user, first, backend)
        connect(other_user, second, backend)

        # Instance A teaches one article per topic; its instant head serves from the first one.
        for i in range(0, len(pairs), 2):
            ls_user.annotate(tasks_a[i], choice(pairs[i][1]))
        held_out = list(range(1, len(pairs), 2))

        wait_for(lambda: predicted(ls_user, first, tasks_a[held_out[0]]), 60, "instance A's instant head")
        taught = [predicted(ls_user, first, tasks_a[i]) for i in held_out]
        untaught = [predicted(other_user, second, tasks_b[i]) for i in held_out]

    assert all(taught), taught
    assert untaught == [[] for _ in held_out], "instance B's project was served instance A's model"
    projects = requests.get(f"{backend.url}/metrics", timeout=10).json()["projects"]
    same_id = sorted(key for key in projects if key.split(".")[0] == str(first))
    assert len(same_id) == 2, sorted(projects)
    log = log_tail(backend, 1_000_000)
    assert "moved from" not in log, log[-3000:]
    assert log.count(f"connected to Label Studio at {ls_user.url}") >= 1
    assert log.count(f"connected to Label Studio at {other_user.url}") >= 1
