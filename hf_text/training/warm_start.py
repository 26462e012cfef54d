"""Planning one head's training: warm-start from the served version, or re-train from the base model.

A project's labels grow ten at a time; re-training from the base model on all of them makes every
training cost more than the one before. When the served version's head still fits (same labels,
same base model and windows) and knows which examples it learned from, the next head starts from
its weights and trains on the examples it never saw (new or relabeled) plus a replay sample of
older ones, so it does not drift towards the newest few. A full re-train from the base model runs
when that is not possible, when the user presses "Start training", after deletions, and every
``FULL_RETRAIN_EVERY``-th training, which also forgets deleted annotations for good.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_text.data.controls import Example
from hf_text.settings import HFSettings

FULL = "full"
INCREMENTAL = "incremental"
#: Events after which only a full re-train is right: the user's explicit request, and deletions
#: (a warm start would keep what the deleted annotations taught).
FULL_EVENTS = frozenset({"START_TRAINING", "ANNOTATIONS_DELETED", "ANNOTATION_DELETED"})
#: Fewest older examples replayed, however few are new (a handful alone would be over-fitted).
MIN_REPLAY = 32
#: Hyper-parameters that change what a head computes: a head trained otherwise cannot be continued.
_SHAPE = ("baseline_model_name", "max_length", "window_stride")


@dataclass(frozen=True)
class ServedHead:
    """The served version's head for a control: where it is, its metadata and what it learned from."""

    version: str
    folder: Path
    head: Mapping[str, Any]
    hyper_parameters: Mapping[str, Any]
    seen: Collection[str] | None


@dataclass(frozen=True)
class TrainingPlan:
    """What one head's training starts from and trains on, and why."""

    mode: str
    reason: str
    start_from: Path
    train: list[Example]
    new: int
    replay: int = 0
    runs_since_full: int = 0
    warm_from: str | None = None

    @property
    def warm(self) -> bool:
        """Whether training continues a trained head (no minimum step count then)."""
        return self.mode == INCREMENTAL

    def record(self) -> dict[str, Any]:
        """The plan as the head's metadata and ``/metrics`` show it."""
        return {
            "mode": self.mode,
            "reason": self.reason,
            "warm_start_from": self.warm_from,
            "new_examples": self.new,
            "replay_examples": self.replay,
            "trained_examples": len(self.train),
            "runs_since_full": self.runs_since_full,
        }


def _full(reason: str, baseline: Path, examples: list[Example], new: int | None = None) -> TrainingPlan:
    return TrainingPlan(FULL, reason, baseline, list(examples), len(examples) if new is None else new)


def _why_not_warm(
    event: str, settings: HFSettings, served: ServedHead | None, labels: list[str]
) -> str | None:
    if settings.full_retrain_every <= 1:
        return "incremental training is off (FULL_RETRAIN_EVERY=1)"
    if event in FULL_EVENTS:
        return f"{event} re-trains from the base model"
    if served is None:
        return "no trained head serves this control yet"
    if list(served.head.get("labels", [])) != list(labels):
        return f"the labels changed since {served.version}"
    current = {"baseline_model_name": settings.baseline_model_name, "max_length": settings.max_length,
               "window_stride": settings.window_stride}  # fmt: skip
    if any(served.hyper_parameters.get(name) != current[name] for name in _SHAPE):
        return f"the base model or window settings changed since {served.version}"
    if served.seen is None:
        return f"{served.version} kept no record of the examples it was trained on"
    runs = int((served.head.get("training") or {}).get("runs_since_full", 0)) + 1
    if runs >= settings.full_retrain_every:
        every = settings.full_retrain_every
        return f"every {every}th training re-trains from the base model (FULL_RETRAIN_EVERY={every})"
    return None


def plan_training(
    event: str,
    settings: HFSettings,
    baseline: Path,
    served: ServedHead | None,
    examples: list[Example],
    labels: list[str],
    key_of: Callable[[Example], str],
) -> TrainingPlan:
    """The plan for a head with ``labels`` on the control's current ``examples``.

    ``key_of`` gives an example's identity as the served head's record of what it learned
    (``served.seen``) stores it: an example not in it is new or relabeled.
    """
    reason = _why_not_warm(event, settings, served, labels)
    if reason is not None or served is None or served.seen is None:
        return _full(reason or "no served head", baseline, examples)
    seen = served.seen
    new = [example for example in examples if key_of(example) not in seen]
    old = [example for example in examples if key_of(example) in seen]
    if not new:
        return _full(f"nothing was labeled or changed since {served.version}", baseline, examples, new=0)
    runs = int((served.head.get("training") or {}).get("runs_since_full", 0)) + 1
    count = min(len(old), max(MIN_REPLAY, round(settings.replay_ratio * len(new))))
    replay = random.Random(f"{settings.seed}:{served.version}").sample(old, count)
    return TrainingPlan(
        INCREMENTAL,
        f"warm start from {served.version}: {len(new)} new or changed example(s) and {count} replayed",
        served.folder,
        new + replay,
        len(new),
        replay=count,
        runs_since_full=runs,
        warm_from=served.version,
    )
