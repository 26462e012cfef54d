"""Which version Label Studio sees while the instant layer refits on every annotation.

Label Studio keeps every ``model_version`` it stored a prediction of (Settings → Predictions, the
pre-labeling dropdown) and re-predicts a task only when the task lacks a prediction of the version
``/setup`` just returned. Publishing every instant head would put a version there per annotation.
So the newest head serves at once *under* the version Label Studio sees, and becomes visible itself
only

* when the layer, the label config or what the head builds on (NER: the fine-tuned version its
  dictionary is combined with) changes: a real new version, which Label Studio must predict again;
* once ``INSTANT_VERSION_EVERY`` newer heads have served under the visible one (measured in the
  docs/visible_versions.md: how stale stored predictions get against how many versions appear);
  at every head under active learning (``label_studio_ml.learning.active``).

A task Label Studio never predicted (the next one an annotator opens, usually) is asked for and
answered by the newest head; a prediction Label Studio already holds is fewer than
``INSTANT_VERSION_EVERY`` updates old. Both live in the shared state, so every worker and replica
serves the newest head without being recreated (``ProjectRegistry`` keys instances by the visible
version only)::

    model_version   the visible version: what /setup answers, what every prediction item carries
    instant_head    {"head", "visible", "basis", "updates", "visible_at"}: the head serving under it

Two replicas updating at once may both count the same earlier entry: a visible version then comes
one update later, never more versions.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from hf_text.instant.records import is_instant_version
from label_studio_ml.learning.active.driver import enabled as active_learning_on
from label_studio_ml.model import MODEL_VERSION_KEY, LabelStudioMLBase

HEAD_KEY = "instant_head"


def _every(model: LabelStudioMLBase) -> int:
    """``INSTANT_VERSION_EVERY`` of the model's settings (1: every head visible, as before); 1 for a
    project under active learning: Label Studio's queue follows the visible version, and each
    annotation must re-rank it (its rounds delete the previous version's predictions, so the
    versions do not pile up in Label Studio)."""
    if active_learning_on(model, model.context.settings.active_learning):
        return 1
    settings = getattr(model, "hf_settings", None)
    return max(int(getattr(settings, "instant_version_every", 1)), 1)


def _basis(model: LabelStudioMLBase, builds_on: str | None) -> str:
    """What a head answers against: the label config and what it builds on (a change is visible)."""
    config = hashlib.sha256((model.label_config or "").encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{config}|{builds_on or ''}"


def _entry(model: LabelStudioMLBase, visible: str | None) -> dict[str, Any]:
    """The stored head entry when it belongs to ``visible`` (else none: something else published)."""
    entry = model.get(HEAD_KEY)
    if isinstance(entry, dict) and visible is not None and entry.get("visible") == visible:
        return entry
    return {}


def serving_version(model: LabelStudioMLBase, visible: str) -> str:
    """The version that answers predictions made under ``visible``: the newest head published under
    it, or ``visible`` itself (a zero-shot or fine-tuned version, or instant learning off)."""
    head = _entry(model, visible).get("head")
    return str(head) if head else visible


def shown_now(head: str, visible: str | None, entry: dict[str, Any], basis: str, every: int) -> bool:
    """Whether ``head`` must become the visible version now (see the module docstring)."""
    if not is_instant_version(head) or not is_instant_version(visible):
        return True  # a layer change (zero-shot, fine-tuned, nothing served yet): a real new version
    if entry.get("basis") != basis:
        return True  # the label config or the fine-tuned version under the head changed
    return int(entry.get("updates", 0)) + 1 >= every


def publish(model: LabelStudioMLBase, head: str | None, builds_on: str | None = None) -> dict[str, Any]:
    """Serve ``head`` (``None``: nothing learned) at once; make it the visible version when it is due.

    Returns what ``/metrics`` shows beside the layer's choice: the visible ``model_version``, the
    ``head`` serving under it, and how many heads have served since the visible one was published.
    """
    every = _every(model)
    if head is None:
        model.context.state.delete(model.project_id, MODEL_VERSION_KEY)
        model.context.state.delete(model.project_id, HEAD_KEY)
        return {"model_version": None, "head": None, "updates_since_visible": 0, "visible_every": every}
    visible = model.get(MODEL_VERSION_KEY)
    entry = _entry(model, visible)
    basis = _basis(model, builds_on)
    if entry.get("head") != head:  # a refit that learned nothing new keeps its head: no update
        if shown_now(head, visible, entry, basis, every):
            if head != visible:
                model.set_model_version(head)
            entry = {"head": head, "visible": head, "basis": basis, "updates": 0, "visible_at": time.time()}
            visible = head
        else:
            entry = {**entry, "head": head, "updates": int(entry.get("updates", 0)) + 1}
        model.set(HEAD_KEY, entry)
    return {
        "model_version": visible,
        "head": head,
        "updates_since_visible": int(entry.get("updates", 0)),
        "visible_every": every,
    }


def protected(model: LabelStudioMLBase) -> set[str]:
    """Instant versions pruning must keep: the visible one (``/versions`` lists it while it is
    current, and its name identifies the head it was published with)."""
    visible = model.get(MODEL_VERSION_KEY)
    return {str(visible)} if is_instant_version(visible) else set()
