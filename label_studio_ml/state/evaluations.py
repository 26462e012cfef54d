"""The forward evaluations of a project's versions, kept across trainings (its learning curve).

A training's summary holds one evaluation per control: the version it replaces, scored on labels
that version never saw (``hf_text.training.evaluation``). The next training's summary replaces it,
so each one is appended here once, and ``/metrics`` shows the list under ``evaluations``.
"""

from __future__ import annotations

from typing import Any

from label_studio_ml.state.contract import StateStore

#: State key of the project's evaluation records, oldest first.
EVALUATIONS_KEY = "evaluations"
#: How many records a project keeps (the oldest go first).
KEEP_EVALUATIONS = 100


def evaluation_records(metrics: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The scored evaluations of a training summary (``fit``'s return), one per control."""
    if not isinstance(metrics, dict):
        return []
    heads = metrics.get("heads")
    per_control = heads.items() if isinstance(heads, dict) and heads else [(None, metrics)]
    records = []
    for control, summary in per_control:
        evaluation = summary.get("evaluation") if isinstance(summary, dict) else None
        if not (isinstance(evaluation, dict) and evaluation.get("examples") and evaluation.get("metrics")):
            continue  # not evaluated (the reason stays in the training's metrics)
        record = {key: evaluation.get(key) for key in ("model_version", "trained_on", "examples", "metrics")}
        if evaluation.get("int8_metrics"):
            record["int8_metrics"] = evaluation["int8_metrics"]
        records.append({**record, "control": control})
    return records


def record_evaluations(store: StateStore, project: str, metrics: dict[str, Any] | None) -> None:
    """Append the evaluations of ``metrics`` not recorded yet (a version is scored once per control)."""
    new = evaluation_records(metrics)
    if not new:
        return
    kept = list(store.get(project, EVALUATIONS_KEY) or [])
    seen = {(record.get("model_version"), record.get("control")) for record in kept}
    kept += [record for record in new if (record["model_version"], record["control"]) not in seen]
    store.set(project, EVALUATIONS_KEY, kept[-KEEP_EVALUATIONS:])
