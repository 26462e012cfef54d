"""Active learning in a real Label Studio 1.23.2: "Label All Tasks" hands out the least confident task.

With ``ACTIVE_LEARNING=true`` the classifier, after connecting and after each annotation's instant
version, writes that version's predictions for its least confident unlabeled tasks, points the
project's ``model_version`` at it and sets "Uncertainty sampling". Label Studio's own next-task
endpoint (what "Label All Tasks" calls) must then hand out a task whose score under the newest
version is among the lowest 10 % of the whole unlabeled pool's.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR, BackendServer
from tests.support.e2e_steps import connect, metrics, personal_access_token
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser, project_entry, wait_for

pytestmark = pytest.mark.e2e

# INSTANT_VERSION_EVERY keeps its default (10): under active learning every head is visible anyway.
ACTIVE = {"ACTIVE_LEARNING": "true", "START_TRAINING_EACH_N_UPDATES": "0"}
ANNOTATIONS = 6


def choice(label: str) -> list[dict[str, Any]]:
    return [{"from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def project_fields(ls_user: LabelStudioUser, project: int) -> dict[str, Any]:
    return ls_user.request("GET", f"/api/projects/{project}/").json()


def queued_version(ls_user: LabelStudioUser, backend: BackendServer, project: int, after: str | None) -> Any:
    """The version the backend's last round queued, once Label Studio's project points at it (a newer
    one than ``after``) with uncertainty sampling; falsy until then."""
    queued = (metrics(backend, project).get("active_learning") or {}).get("version")
    fields = project_fields(ls_user, project)
    pointed = fields["model_version"] == queued and fields["sampling"] == "Uncertainty sampling"
    return queued if pointed and queued != after else None


def pool_scores(backend: BackendServer, ref: str, tasks: dict[int, str]) -> tuple[dict[int, float], set[str]]:
    """Each unlabeled task's score under the version the backend serves now (as ``/predict`` gives
    it), and the versions that answered."""
    body = {"tasks": [{"id": task, "data": {"text": text}} for task, text in tasks.items()], "project": ref,
            "label_config": bbc_news.LABEL_CONFIG}  # fmt: skip
    results = requests.post(f"{backend.url}/predict", json=body, timeout=120).json()["results"]
    scores = {task: float(result["score"]) for task, result in zip(tasks, results, strict=True)}
    return scores, {result["model_version"] for result in results}


def test_label_all_tasks_hands_out_a_least_confident_task_of_the_newest_version(
    ls_user: LabelStudioUser, label_studio: LabelStudioServer, start_backend: Any
) -> None:
    env = {**ACTIVE, **personal_access_token(label_studio)}  # Label Studio refuses /setup's legacy token
    backend = start_backend(BERT_CLASSIFIER_DIR, env=env, workers=1)
    articles = bbc_news.articles(per_label=12, max_words=64)  # a pool of 60
    project = ls_user.create_project("e2e active learning", bbc_news.LABEL_CONFIG)
    ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in articles])
    text_of = {task: text for task, (text, _) in zip(ids, articles, strict=True)}
    gold = {task: label for task, (_, label) in zip(ids, articles, strict=True)}
    ref = ls_user.project_key(project)
    connect(ls_user, project, backend)
    try:
        version = wait_for(lambda: queued_version(ls_user, backend, project, None), 120, "the first round")
    except TimeoutError:  # say what the backend's round did, and why
        raise AssertionError(metrics(backend, project).get("active_learning")) from None

    ranks, waits = [], []
    for _ in range(ANNOTATIONS):
        task = ls_user.request("GET", f"/api/projects/{project}/next/").json()
        unlabeled = {task_id: text for task_id, text in text_of.items() if task_id in gold}
        scores, answered = pool_scores(backend, ref, unlabeled)
        assert answered == {version}, (answered, version)  # the queue follows the newest version
        rank = sum(score < scores[task["id"]] for score in scores.values()) / len(scores)
        ranks.append(round(rank, 3))
        assert rank < 0.1, (task["id"], scores[task["id"]], sorted(scores.values())[:8], version)
        stored = [p for p in task.get("predictions", []) if p["model_version"] == version]
        assert stored and stored[0]["score"] == pytest.approx(scores[task["id"]], abs=1e-5), (stored, version)

        started = time.monotonic()
        ls_user.annotate(task["id"], choice(gold.pop(task["id"])))
        version = wait_for(lambda v=version: queued_version(ls_user, backend, project, v), 60, "a round")
        waits.append(round(time.monotonic() - started, 2))

    entry = metrics(backend, project)["active_learning"]
    assert entry["version"] == version and entry["error"] is None, entry
    assert entry["written"] == 20 and entry["pool"] == len(gold), entry
    print(f"\nnext task's rank in the pool: {ranks}; annotation -> queue on the new version: {waits} s")


def test_two_annotators_get_different_least_confident_tasks(
    ls_user: LabelStudioUser, label_studio: LabelStudioServer, start_backend: Any
) -> None:
    """Label Studio locks a task to whoever got it and, with several annotators, draws among the first
    few: each annotator gets another of the least confident tasks."""
    env = {**ACTIVE, **personal_access_token(label_studio)}
    backend = start_backend(BERT_CLASSIFIER_DIR, env=env, workers=1)
    articles = bbc_news.articles(per_label=12, skip=20, max_words=64)
    project = ls_user.create_project("e2e active learning, two annotators", bbc_news.LABEL_CONFIG)
    ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in articles])
    text_of = {task: text for task, (text, _) in zip(ids, articles, strict=True)}
    gold = {task: label for task, (_, label) in zip(ids, articles, strict=True)}
    ref = ls_user.project_key(project)
    second = label_studio.sign_up("second-annotator@example.com", "second-password-123")
    headers = label_studio.csrf_headers(second)
    connect(ls_user, project, backend)
    version = wait_for(lambda: queued_version(ls_user, backend, project, None), 120, "the first round")

    for _ in range(3):
        mine = ls_user.request("GET", f"/api/projects/{project}/next/").json()["id"]
        theirs = second.get(f"{label_studio.url}/api/projects/{project}/next/", timeout=60).json()["id"]
        scores, answered = pool_scores(backend, ref, {task: text_of[task] for task in gold})
        assert answered == {version} and mine != theirs, (answered, version, mine, theirs)
        for task in (mine, theirs):
            rank = sum(score < scores[task] for score in scores.values()) / len(scores)
            assert rank < 0.1, (task, rank, version)
        ls_user.annotate(mine, choice(gold.pop(mine)))
        body = {"result": choice(gold.pop(theirs)), "lead_time": 1.0}
        second.post(f"{label_studio.url}/api/tasks/{theirs}/annotations/", json=body, headers=headers,
                    timeout=60).raise_for_status()  # fmt: skip

        def settled(after: str = version) -> Any:
            """Both annotations learned (none waiting), and the round of the version that serves done."""
            report = requests.get(f"{backend.url}/metrics", timeout=10).json()
            entry = project_entry(report["projects"], project)
            queued = (entry.get("active_learning") or {}).get("version")
            waiting = report["worker"]["instant_updates"]["waiting"]
            idle = waiting == 0 and entry.get("model_version") == queued
            return queued_version(ls_user, backend, project, after) if idle else None

        version = wait_for(settled, 60, "a round after both annotations")
