"""What a person wants to know, read from the ``/metrics`` JSON report (the one source of truth).

Pure functions over the report's dicts: the page (``page``) and the terminal (``commands.status``)
show the same summary. Nothing here reads the state or calls another host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from label_studio_ml.status_page.progress import Progress, training_progress

#: Training states in which a training will still change what is shown (the page refreshes itself).
ACTIVE_STATES = ("queued", "running")
#: The metric a curve plots, in order of preference (the backends' headline metrics first).
METRICS = ("macro_f1", "f1", "accuracy")


@dataclass(frozen=True)
class Point:
    """One scored version: how many labels it had and how well it did on labels it never saw."""

    layer: str
    version: str | None
    labels: int
    metric: str
    score: float
    int8: float | None = None
    control: str | None = None


@dataclass(frozen=True)
class ProjectView:
    """One project as a person reads it."""

    name: str
    host: str | None
    controls: list[str]
    layer: str | None
    version: str | None
    why: str | None
    labels: int | None
    state: str
    progress: Progress | None
    error: str | None
    notes: list[tuple[str, str]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)


def training_active(report: dict[str, Any]) -> bool:
    """Whether some project's training is queued or running (a page of it should refresh itself)."""
    return any(
        (project.get("training") or {}).get("state") in ACTIVE_STATES
        for project in (report.get("projects") or {}).values()
    )


def project_views(report: dict[str, Any], now: float) -> list[ProjectView]:
    """Every project of ``report``, by name."""
    projects = report.get("projects") or {}
    return [_view(name, projects[name], now) for name in sorted(projects)]


def _view(name: str, project: dict[str, Any], now: float) -> ProjectView:
    training = project.get("training") or {}
    served = project.get("served") if isinstance(project.get("served"), dict) else {}
    state = str(training.get("state") or "idle")
    return ProjectView(
        name=name,
        host=project.get("label_studio_host"),
        controls=_controls(project, served),
        layer=served.get("layer"),
        version=served.get("model_version") or project.get("model_version"),
        why=served.get("why"),
        labels=(project.get("label_studio") or {}).get("labeled_tasks"),
        state=state,
        progress=training_progress(training, now) if state in ACTIVE_STATES else None,
        error=training.get("error"),
        notes=_notes(project, training),
        points=curve_points(project),
    )


def _controls(project: dict[str, Any], served: dict[str, Any]) -> list[str]:
    """The label config's controls, else those the report names: trained heads, zero-shot's controls."""
    if project.get("controls"):
        return [str(control) for control in project["controls"]]
    metrics = (project.get("training") or {}).get("metrics") or {}
    names = list(metrics.get("heads") or {}) + list(served.get("zero_shot") or {})
    names += [record.get("control") for record in project.get("evaluations") or []]
    return sorted({str(name) for name in names if name})


def _notes(project: dict[str, Any], training: dict[str, Any]) -> list[tuple[str, str]]:
    """``(what, in words)`` for everything that is not as it should be, or worth knowing."""
    notes = []
    refused = project.get("refused")
    if isinstance(refused, dict) and refused.get("reason"):
        notes.append(("refused config", str(refused["reason"])))
    notes += [("ignored control", str(reason)) for reason in project.get("ignored_controls") or []]
    notes += [("unread object", str(reason)) for reason in project.get("unread_objects") or []]
    source = project.get("label_studio") or {}
    if source.get("reason"):
        notes.append(("labeled tasks", str(source["reason"])))
    cut = project.get("texts_cut")
    if isinstance(cut, dict) and cut.get("texts"):
        limit, longest = cut.get("max_text_chars"), cut.get("longest_chars")
        notes.append(("texts cut", f"{cut['texts']} text(s) read up to {limit} chars (longest {longest})"))
    notes += _head_notes(training.get("metrics") or {})
    return notes


def _head_notes(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """Unreadable tasks and int8 status of the last training, per control."""
    heads = metrics.get("heads") if isinstance(metrics.get("heads"), dict) else {}
    notes = []
    for control, head in (heads or {None: metrics}).items():
        where = f" ({control})" if control else ""
        skipped = head.get("skipped_tasks") if isinstance(head, dict) else None
        counts = {k: v for k, v in (skipped or {}).items() if isinstance(v, int) and v}
        if counts:
            words = ", ".join(f"{count} {reason.replace('_', ' ')}" for reason, count in counts.items())
            notes.append((f"unreadable tasks{where}", words))
        quantization = head.get("quantization") if isinstance(head, dict) else None
        if isinstance(quantization, dict) and quantization:
            text = f"serves {quantization.get('serves', '?')}"
            text += f": {quantization['reason']}" if quantization.get("reason") else ""
            notes.append((f"int8{where}", text))
    return notes


def curve_points(project: dict[str, Any]) -> list[Point]:
    """The learning curve's points: each evaluated version (fine-tuned, fp32 and int8), zero-shot
    at no labels and the instant head on its labels, where the report measured them."""
    points = []
    for record in project.get("evaluations") or []:
        metric, score = _headline(record.get("metrics"))
        if metric is None or score is None:
            continue
        int8 = (record.get("int8_metrics") or {}).get(metric)
        version = record.get("model_version")
        layer = "instant" if str(version or "").startswith("instant") else "fine-tuned"
        points.append(Point(layer, version, int(record.get("trained_on") or 0), metric, score,
                            None if int8 is None else float(int8), record.get("control")))  # fmt: skip
    served = project.get("served") if isinstance(project.get("served"), dict) else {}
    return sorted(points + _light_points(served), key=lambda point: point.labels)


def _light_points(served: dict[str, Any]) -> list[Point]:
    """Zero-shot's accuracy (no labels) and the instant head's on the latest labels (classifier)."""
    points = []
    if isinstance(served.get("zero_shot_accuracy"), int | float):
        points.append(Point("zero-shot", None, 0, "accuracy", float(served["zero_shot_accuracy"])))
    duel = (served.get("duels") or {}).get("zero-shot") or {}
    heads = [head for head in served.get("heads") or [] if isinstance(head, dict)]
    if duel.get("labels") and heads:
        labels = sum(int(head.get("examples") or 0) for head in heads)
        score = duel.get("incumbent_right", 0) / duel["labels"]
        points.append(Point("instant", None, labels, "accuracy", score))
    return points


def _headline(metrics: Any) -> tuple[str | None, float | None]:
    if not isinstance(metrics, dict):
        return None, None
    for name in METRICS:
        if isinstance(metrics.get(name), int | float):
            return name, float(metrics[name])
    return None, None


def worker_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    """``(what, value)`` about the process that answered: its trainings, queue and workers."""
    worker = report.get("worker") or {}
    slots = worker.get("training_slots") or {}
    lines = [("process", f"pid {worker.get('pid')}, up {worker.get('uptime_s')} s")]
    if slots.get("runner") == "rq":
        lines.append(("queue", f"{slots.get('queue')}: {slots.get('queued_jobs')} job(s) waiting"))
        lines.append(("workers", ", ".join(slots.get("workers") or []) or "none listening"))
    elif slots:
        lines.append(("training slots", f"{slots.get('max_concurrent_trainings')}"))
        lines.append(("running", ", ".join(slots.get("running") or []) or "none"))
        lines.append(("queued", ", ".join(slots.get("queued") or []) or "none"))
    instant = worker.get("instant_updates") or {}
    if instant:
        lines.append(("instant updates", f"{len(instant.get('events') or [])} recent, "
                      f"{instant.get('waiting', 0)} waiting"))  # fmt: skip
    return lines
