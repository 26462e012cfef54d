"""The random slice: a share of the tasks handed out at random, so that layers are scored honestly.

Tasks chosen for being uncertain are not a random sample: the served layer is wrong on them more
often than on the project's tasks at large, and a layer that challenges it (zero-shot, a fine-tuned
version) would look better than it is. So one round in ``RANDOM_EVERY`` puts a task drawn at random
at the head of Label Studio's queue (its prediction written just below the lowest score, in a
cluster of its own, so "Label All Tasks" hands it out next), and the layers are compared on the
labels of those tasks and on the labels made before active learning started (``trusted``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from label_studio_ml.learning.active.selection import Scored

#: One round in this many hands out a random task: about one label in ten once every annotation
#: publishes a version.
RANDOM_EVERY = 10
#: Clusters of random picks start here (one of their own: never "solved more" than another's).
RANDOM_CLUSTER = 1_000_000
#: Random-slice task ids kept (the most recent; a duel looks at the latest 100 labels at most).
KEPT = 200


def random_pick(project: str, round_number: int, scored: Sequence[Scored]) -> Scored | None:
    """This round's random task, if it is a random round (the draw is seeded: any replica picks
    the same task for the same round)."""
    if round_number % RANDOM_EVERY or not scored:
        return None
    return random.Random(f"{project}:{round_number}").choice(list(scored))


def with_pick(report: dict[str, Any], pick: Scored) -> dict[str, Any]:
    """``report`` with ``pick`` added to the random slice."""
    kept = [task for task in report.get("random_slice") or [] if task != pick.task_id]
    return {**report, "random_slice": [*kept, pick.task_id][-KEPT:]}


def trusted(report: dict[str, Any] | None) -> Callable[[Any, float], bool] | None:
    """Whether a label (its task id and when it arrived, epoch seconds) may score the layers under
    active learning: a random-slice task's, or one made before the first round. ``None``: the
    project never ran active learning, every label counts."""
    if not report or "started_at" not in report:
        return None
    started, picked = float(report["started_at"]), set(report.get("random_slice") or [])
    return lambda task, received_at: received_at < started or task in picked
