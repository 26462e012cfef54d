"""Forward evaluation: the served version scored on the labeled examples it has never seen.

Every version trains on every labeled example, so no split is held out of the published model.
Honest held-out metrics come from the other direction: when the next training starts, the
version being served is scored on the examples labeled (or relabeled) after it was trained,
which its record of trained examples (``hf_text.data.trained_on``) proves it never learned from. The
record of that evaluation names the version it describes, how many examples it used and how they
were chosen; it is stored in the new version's metadata and returned by ``fit`` for ``/metrics``.
A version with an int8 model is scored with it too (``int8_metrics``), next to fp32's ``metrics``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hf_text.data.controls import ControlSpec, Example
from hf_text.data.trained_on import example_key, read_record
from hf_text.runtime.device import inference_dtype
from hf_text.runtime.loader import load_for_inference
from hf_text.task import TextTask, TrainingRun
from hf_text.training.quantization import int8_metrics

logger = logging.getLogger(__name__)

SELECTION = (
    "labeled or relabeled after {version} was trained, so never in its training data; "
    "the most recently annotated first, at most {limit} (EVALUATION_MAX_EXAMPLES)"
)


def not_evaluated(version: str | None, reason: str) -> dict[str, Any]:
    """The record of an evaluation that could not run, and why."""
    return {"model_version": version, "examples": 0, "reason": reason}


def served_head(meta: dict[str, Any], control: ControlSpec, task: TextTask) -> dict[str, Any] | None:
    """The head of a version's ``meta`` that serves ``control`` as configured now, if any."""
    for head in meta.get("heads", []):
        if head.get("from_name") == control.from_name and task.head_matches(head, control):
            return head
    return None


def unseen_examples(folder: Path, examples: list[Example]) -> list[Example] | None:
    """``examples`` the head in ``folder`` was not trained on (``None``: it kept no record)."""
    seen = read_record(folder)
    if seen is None:
        return None
    return [example for example in examples if example_key(example) not in seen]


def forward_evaluation(
    task: TextTask, run: TrainingRun, version: str, control: ControlSpec, examples: list[Example]
) -> dict[str, Any]:
    """Score the served ``version`` of the run's store on the ``examples`` it never saw (at most
    ``EVALUATION_MAX_EXAMPLES``).

    With nothing new since it was trained, the served version's own record of the evaluation
    before it is the latest honest one and is returned as it is (it names its own version).
    """
    store, limit, device = run.store, run.settings.evaluation_max_examples, run.device
    meta = store.meta(version)
    if meta is None:
        return not_evaluated(
            None, f"no trained version was served ({version}): the new one is scored on the labels after it"
        )
    if limit <= 0:
        return not_evaluated(version, "EVALUATION_MAX_EXAMPLES is 0")
    head = served_head(meta, control, task)
    if head is None:
        return not_evaluated(version, f"{version} has no head serving {control.from_name} as configured now")
    folder = store.root / version / head["dir"]
    unseen = unseen_examples(folder, examples)
    if unseen is None:
        return not_evaluated(version, f"{version} kept no record of the examples it was trained on")
    if not unseen:
        earlier = head.get("evaluation")
        if isinstance(earlier, dict) and earlier.get("examples"):
            return earlier
        return not_evaluated(version, f"no example was labeled or changed since {version} was trained")
    chosen = sorted(unseen, key=lambda example: example.annotated_at, reverse=True)[:limit]
    started = time.monotonic()
    try:
        loaded = load_for_inference(folder, task.TASK_KIND, device, inference_dtype(device))
    except Exception as exc:  # a broken old version (any loader error) must not stop the new one
        logger.warning("cannot score %s on new examples: %s", version, exc)
        return not_evaluated(version, f"{version} could not be loaded: {type(exc).__name__}")
    metrics = task.evaluate(loaded, chosen, control, head)
    int8 = int8_metrics(task, run.settings, folder, chosen, control, head)
    logger.info(
        "project %s: %s scored %s %s on %d example(s) it never saw (%s)", run.project, version,
        task.HEADLINE_METRIC, metrics.get(task.HEADLINE_METRIC), len(chosen), control.from_name,
    )  # fmt: skip
    return {
        **({"int8_metrics": int8} if int8 is not None else {}),
        "model_version": version,
        "trained_on": head.get("train_size"),
        "examples": len(chosen),
        "unseen": len(unseen),
        "selection": SELECTION.format(version=version, limit=limit),
        "seconds": round(time.monotonic() - started, 2),
        "metrics": metrics,
    }
