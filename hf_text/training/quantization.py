"""The int8 model of a head: built and checked when its version is published, never in a request.

The training job exports the saved head to ONNX, quantizes it (``hf_text.training.onnx_export``) and writes
the int8 artifact into the head's folder, so it is published atomically with the version. The
artifact serves (``INFERENCE_BACKEND=auto`` on a CPU) only when its quality is within one point
of the fp32 model's, on the headline metric of the task (macro-F1, entity F1):

* at publish time both are scored on a check set: the most recently annotated training examples
  (``QUANTIZATION_CHECK_EXAMPLES``). The published model trains on every labeled example, so no
  example is held out of it; what this compares is the two models' decisions against the gold
  labels on the same texts, which catches a broken export or a quantization that moves decisions;
* never trained on: up to ``QUANTIZATION_CHECK_EXAMPLES`` of the project's unlabeled tasks, predicted
  by both. No label says which is right; the share of decisions int8 changes there
  (``changed_decisions``) is reported, not used to decide: on held-out sets int8 changed 1.0% of a
  classifier's labels and 4.6% of NER's entities while the metrics moved +0.7 and +0.15 points
  (``bench/predict_speed.py``), so changes go both ways and this share bounds the accuracy change
  far too loosely to refuse int8 by;
* held out: the next training's forward evaluation (``hf_text.training.evaluation``) scores the served
  version with both back ends on examples it never saw, and that record (``held_out``) is taken
  into account here: when it holds at least ``HELD_OUT_MIN_EXAMPLES`` examples and int8 lost more
  than the tolerance there, the new version serves fp32 too.

Both scores, the decision and its reason are in the head's metadata and in ``fit``'s summary
(``/metrics``). Any failure to build the artifact leaves the head served by torch.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hf_text.data.controls import ControlSpec, Example
from hf_text.runtime.backends import INT8_FILE, ONNX_INT8, TORCH, inference_threads, open_onnx
from hf_text.runtime.loader import LoadedModel, load_tokenizer
from hf_text.runtime.serving import Prediction
from hf_text.settings import HFSettings
from hf_text.task import TextTask
from hf_text.training.onnx_export import export_fp32, quantize_int8
from label_studio_ml.errors import error_line

logger = logging.getLogger(__name__)

#: How much of the headline metric int8 may lose against fp32: one point.
TOLERANCE = 0.01
#: A held-out comparison overrides the check set only from this many examples on (one point is
#: then at most one example's decision).
HELD_OUT_MIN_EXAMPLES = 100
#: How much of an export error ``/metrics`` shows.
_REASON_CHARS = 200
CHECK_SET = (
    "the {count} most recently annotated examples of the training data (the published model trains "
    "on every example; the held-out comparison comes from the next training's forward evaluation)"
)


def check_set(examples: list[Example], limit: int) -> list[Example]:
    """The ``limit`` most recently annotated examples."""
    return sorted(examples, key=lambda example: example.annotated_at, reverse=True)[:limit]


def _score(
    task: TextTask,
    loaded: LoadedModel,
    examples: list[Example],
    control: ControlSpec,
    head: dict[str, Any],
) -> float | None:
    value = task.evaluate(loaded, examples, control, head).get(task.HEADLINE_METRIC)
    return None if value is None else float(value)


def int8_metrics(
    task: TextTask, settings: HFSettings, folder: Path, examples: list[Example], control: ControlSpec,
    head: dict[str, Any],
) -> dict[str, Any] | None:  # fmt: skip
    """The int8 model's metrics on ``examples`` (``None``: the head in ``folder`` has none).

    The forward evaluation calls this next to the fp32 scoring, on the examples the head never
    saw: the held-out comparison of the two, in ``/metrics`` and used by the next check.
    """
    if not (folder / INT8_FILE).is_file():
        return None
    threads = inference_threads(settings.inference_threads)
    return task.evaluate(_onnx_model(folder, folder / INT8_FILE, threads, "int8"), examples, control, head)


def _decisions(prediction: Prediction) -> frozenset[str]:
    items, _score = prediction
    return frozenset(json.dumps(item.get("value"), sort_keys=True) for item in items)


def changed_decisions(first: Sequence[Prediction], second: Sequence[Prediction]) -> float | None:
    """The share of two models' decisions on the same texts that differ: ``sum |A xor B| /
    sum (|A| + |B|)`` over the texts' results (a chosen label set, a region), that is 1 minus the
    F1 of one's decisions against the other's. For a single-label classifier it is the share of
    texts whose label differs, which bounds how much accuracy can differ on them. ``None``: no
    decision at all (nothing predicted by either)."""
    changed = total = 0
    for one, other in zip(first, second, strict=True):
        mine, theirs = _decisions(one), _decisions(other)
        changed += len(mine ^ theirs)
        total += len(mine) + len(theirs)
    return changed / total if total else None


def held_out_loss(held_out: Mapping[str, Any] | None, metric: str) -> float | None:
    """fp32 minus int8 on a forward evaluation that scored both on enough unseen examples."""
    if not held_out or int(held_out.get("examples") or 0) < HELD_OUT_MIN_EXAMPLES:
        return None
    fp32 = (held_out.get("metrics") or {}).get(metric)
    int8 = (held_out.get("int8_metrics") or {}).get(metric)
    if fp32 is None or int8 is None:
        return None
    return float(fp32) - float(int8)


def decide(fp32: float | None, int8: float | None, held_out: float | None) -> tuple[str, str]:
    """Which back end serves, and why."""
    if held_out is not None and held_out > TOLERANCE:
        return TORCH, f"int8 lost {held_out:.4f} on the served version's held-out examples"
    if fp32 is None or int8 is None:
        return TORCH, "the check set gave no metric"
    if fp32 - int8 > TOLERANCE:
        return TORCH, f"int8 lost {fp32 - int8:.4f} on the check set (tolerance {TOLERANCE})"
    return ONNX_INT8, f"int8 within {TOLERANCE} of fp32"


def failure_reason(folder: Path, step: str, exc: Exception, setting: str) -> str:
    """Why the head in ``folder`` has no int8 model, for ``/metrics``: its architecture, the step
    that failed and the error's first line (``setting``: ``INFERENCE_BACKEND``)."""
    reason = f"int8 export failed for {_architecture(folder)} in {step}: {error_line(exc, _REASON_CHARS)}"
    if setting == "onnx":
        return f"{reason}; INFERENCE_BACKEND=onnx has no int8 model to serve, so torch serves this head"
    return f"{reason}; serving torch"


def _architecture(folder: Path) -> str:
    try:
        names = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures")
    except (OSError, ValueError, AttributeError):
        names = None
    return str(names[0]) if isinstance(names, list) and names else f"the model in {folder}"


def publish_int8(
    task: TextTask,
    settings: HFSettings,
    control: ControlSpec,
    head: dict[str, Any],
    folder: Path,
    examples: list[Example],
    held_out: Mapping[str, Any] | None = None,
    unlabeled: Sequence[str] = (),
) -> dict[str, Any]:
    """Build ``folder``'s int8 artifact, score it against fp32 and record which one serves.

    ``folder`` holds the saved head described by ``head``; ``examples`` are what it trained on,
    ``unlabeled`` texts of the project it never trained on.
    """
    if settings.inference_backend == TORCH:
        return {"serves": TORCH, "reason": "INFERENCE_BACKEND=torch: no int8 model built"}
    started = time.monotonic()
    checked = check_set(examples, settings.quantization_check_examples)
    threads = inference_threads(settings.inference_threads)
    step = "the ONNX export"
    try:
        with tempfile.TemporaryDirectory(prefix="hf-text-onnx-") as scratch:
            fp32_path = export_fp32(folder, task.TASK_KIND, Path(scratch) / "model.fp32.onnx")
            step = "int8 quantization"
            int8_path = quantize_int8(fp32_path, folder / INT8_FILE)
            step = "the int8 check"
            models = {name: _onnx_model(folder, path, threads, name)
                      for name, path in (("fp32", fp32_path), ("int8", int8_path))}  # fmt: skip
            scores = {name: _score(task, loaded, checked, control, head) if checked else None
                      for name, loaded in models.items()}  # fmt: skip
            unseen = _unseen(task, models, list(unlabeled), control, head)
    except Exception as exc:  # an architecture the exporter cannot handle still publishes, with torch
        (folder / INT8_FILE).unlink(missing_ok=True)
        reason = failure_reason(folder, step, exc, settings.inference_backend)
        logger.warning("no int8 model for %s: %s", control.from_name, reason)
        return {"serves": TORCH, "reason": reason}
    loss = held_out_loss(held_out, task.HEADLINE_METRIC)
    serves, reason = decide(scores["fp32"], scores["int8"], loss)
    record = {
        "serves": serves,
        "reason": reason,
        "metric": task.HEADLINE_METRIC,
        "fp32": scores["fp32"],
        "int8": scores["int8"],
        "examples": len(checked),
        "check_set": CHECK_SET.format(count=len(checked)),
        "held_out_loss": None if loss is None else round(loss, 4),
        "unlabeled": unseen,
        "seconds": round(time.monotonic() - started, 2),
    }
    logger.info("int8 model of %s: %s", control.from_name, record)
    return record


def _unseen(
    task: TextTask, models: Mapping[str, LoadedModel], texts: list[str], control: ControlSpec,
    head: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """How many of fp32's decisions int8 changes on ``texts``."""
    texts = [text for text in texts if text]
    if not texts:
        return {"texts": 0, "decisions_changed": None}
    try:
        fp32, int8 = (task.predict_texts(models[name], texts, control, head) for name in ("fp32", "int8"))
    except Exception as exc:  # a report only: it must not cost the version its int8 model
        logger.warning("int8 of %s: unlabeled texts not compared: %s", control.from_name, exc)
        return {"texts": len(texts), "decisions_changed": None, "error": type(exc).__name__}
    changed = changed_decisions(fp32, int8)
    return {"texts": len(texts), "decisions_changed": None if changed is None else round(changed, 4)}


def _onnx_model(folder: Path, path: Path, threads: int, precision: str) -> LoadedModel:
    from transformers import AutoConfig

    runner = open_onnx(path, threads, backend=f"onnx-{precision}")
    return LoadedModel(load_tokenizer(folder), runner, AutoConfig.from_pretrained(str(folder)), folder)
