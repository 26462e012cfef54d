"""One active-learning round for a project: score its unlabeled pool, queue the least confident.

The round predicts with the version the project serves (``model.predict``, as ``/predict`` would:
the classifier's instant layer re-scores cached sentence embeddings, so a round after an
annotation costs a head's matrix product per task), writes a prediction of that version for the
``ACTIVE_LEARNING_TASKS`` least confident tasks, each with a diversity ``cluster`` (the model's
``task_clusters``, or one cluster for all), then points the project's ``model_version`` at that
version and its sampling at uncertainty sampling (the user's sampling is kept, to restore). The
predictions of the previous round's version are deleted: nothing shows them any more, and a
project annotated for a day would otherwise keep thousands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from label_studio_ml.config import Settings
from label_studio_ml.learning.active.random_slice import RANDOM_CLUSTER, random_pick, with_pick
from label_studio_ml.learning.active.selection import Scored, least_confident, scored_tasks
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.response import ModelResponse
from label_studio_ml.state.training_state import owner_id, process_of
from label_studio_ml.studio.task_queue import UNCERTAINTY_SAMPLING, QueuedPrediction, TaskQueue

logger = logging.getLogger(__name__)

#: Per-project state: what the last round did (``/metrics``), and the sampling to restore.
ACTIVE_KEY = "active_learning"
#: Tasks per ``predict`` call: a newer version stops a round between chunks.
CHUNK = 256


class VersionMoved(Exception):
    """The project moved to another version during a round: the round for that one follows."""


def predictions_of(model: LabelStudioMLBase, tasks: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
    """The version that answered and ``model``'s predictions of ``tasks`` in order, as ``/predict``
    makes them (one per task; ``None`` for each when the model did not give one per task)."""
    raw = model.predict(list(tasks))
    items = raw.serialize() if isinstance(raw, ModelResponse) else raw
    version = (raw.model_version if isinstance(raw, ModelResponse) else None) or model.model_version
    items = list(items) if isinstance(items, list) else []
    if len(items) != len(tasks):  # not one per task: which belongs to which is unknown
        return version, [None] * len(tasks)
    # A task's list of predictions: the first is the one Label Studio shows first.
    return version, [item[0] if isinstance(item, list) and item else item for item in items]


def score_pool(model: LabelStudioMLBase, pool: Sequence[dict[str, Any]]) -> tuple[str, list[Scored]]:
    """The version that scored the pool, and its tasks so scored (``VersionMoved`` when the project
    moved to another version meanwhile: the zero-shot layer, say, decides to serve on a first look
    at the project's texts, and an annotation publishes an instant head)."""
    version, scored = model.model_version, []
    for start in range(0, len(pool), CHUNK):
        answered, predictions = predictions_of(model, pool[start : start + CHUNK])
        if start and answered != version:
            raise VersionMoved(answered)
        version = answered
        scored.extend(scored_tasks(pool[start : start + CHUNK], predictions))
    if model.model_version != version:
        raise VersionMoved(model.model_version)
    return version, scored


def as_score(value: float) -> float:
    """``value`` as Label Studio stores a prediction score: within [0, 1] (it refuses others with a
    400), six decimals. A random pick below a lowest score of 0 ties with it at 0."""
    return round(min(1.0, max(0.0, value)), 6)


def queued(
    model: LabelStudioMLBase, pool: list[Scored], picked: list[Scored], pick: Scored | None, own: int
) -> list[QueuedPrediction]:
    """``picked`` as predictions for the queue, each with its cluster among the pool's; a random
    ``pick`` first, just below the lowest score, in the cluster ``own`` (``random_slice``)."""
    clusters = model.task_clusters([item.task for item in pool]) or [0] * len(pool)
    cluster_of = {item.task_id: int(cluster) for item, cluster in zip(pool, clusters, strict=True)}
    items = [
        QueuedPrediction(item.task_id, item.result, as_score(item.score), cluster_of[item.task_id])
        for item in picked
        if pick is None or item.task_id != pick.task_id
    ]
    if pick is None:
        return items
    lowest = min(item.score for item in picked)
    first = QueuedPrediction(pick.task_id, pick.result, as_score(lowest - 1e-4), own)
    return [first, *items]


def run_round(
    model: LabelStudioMLBase, queue: TaskQueue, settings: Settings, pool: list[dict[str, Any]]
) -> dict[str, Any]:
    """One round for ``model``'s project over its unlabeled ``pool``; what it did (also kept under
    ``ACTIVE_KEY``). Raises ``VersionMoved``, and ``LabelStudioUnavailable``/``LabelStudioRefused``
    from Label Studio."""
    started = time.monotonic()
    before = model.get(ACTIVE_KEY) or {}
    version, scored = score_pool(model, pool)
    picked = least_confident(scored, settings.active_learning_tasks)
    number = int(before.get("rounds", 0)) + 1
    report = {"started_at": time.time(), **before, "version": version, "rounds": number, "pool": len(pool),
              "scored": len(scored), "written": len(picked)}  # fmt: skip
    if picked:
        pick = random_pick(model.project_id, number, scored)
        queue.write(version, queued(model, scored, picked, pick, RANDOM_CLUSTER + number))
        report = report if pick is None else with_pick(report, pick)
        sampling = queue.sampling()
        if sampling != UNCERTAINTY_SAMPLING and "previous_sampling" not in before:
            report["previous_sampling"] = sampling  # the user's choice, restored when turned off
        queue.point_to(version, UNCERTAINTY_SAMPLING if sampling != UNCERTAINTY_SAMPLING else None)
        report["scores"] = [picked[0].score, picked[-1].score]
        old = before.get("version")
        if old and old != version:
            queue.drop_version(old)
    # Who ran it: ``host:pid`` as the training rows name their processes, and the process's role
    # (a serving replica, or a training worker after its training, in distributed mode).
    report.update(seconds=round(time.monotonic() - started, 3), at=time.time(), error=None,
                  by=process_of(owner_id()), role=settings.role.value)  # fmt: skip
    model.set(ACTIVE_KEY, report)
    logger.info(
        "project %s: queued %d of %d unlabeled tasks under %s in %.2f s",
        model.project_id, len(picked), len(pool), version, report["seconds"],
    )  # fmt: skip
    return report


def turn_off(model: LabelStudioMLBase, queue: TaskQueue) -> None:
    """Give the project back the sampling it had before active learning, and forget the round."""
    before = model.get(ACTIVE_KEY) or {}
    if before.get("previous_sampling"):
        queue.point_to(sampling=before["previous_sampling"])
    model.context.state.delete(model.project_id, ACTIVE_KEY)
    logger.info("project %s: active learning off; sampling restored", model.project_id)
