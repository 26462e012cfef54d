"""Learning from every annotation at once: the events, the records, and the refit that follows.

``label_studio_ml.learning.instant`` hands annotation webhooks to ``HFTextModel.learn_instantly_many`` in a
background thread (those that queued up during the previous update together); this module turns
them into records (``hf_text.instant.records``: one file per labeled task and control, shared by
every replica) and asks the model's instant layer (a light classifier head, or NER's span
dictionary) to refit once on all of them and publish a new version.

* ``ANNOTATION_CREATED`` / ``ANNOTATION_UPDATED`` carry the task and the result: the task's record
  is replaced (removed when the annotation was skipped or has nothing for the control).
* ``ANNOTATIONS_DELETED`` carries annotation ids only: the records made from them are removed.
* ``ANNOTATIONS_CREATED`` (bulk, from the Data Manager) carries no task data: the records are
  rebuilt from Label Studio's labeled tasks, as they are the first time a project is seen (after an
  upgrade, or with annotations made before the backend was connected).

The learner works for a project (``LabeledProject``: its controls, texts and labeled tasks) with
its task description (``hf_text.task.TextTask``: the targets annotations teach) and never imports
the model class. Between the instant layer and fine-tuning the dependency points one way: the
instant layer builds on fine-tuned versions (it reads them from the model store and predicts with
them to compare or combine), fine-tuning knows nothing of the instant layer. A training
(``hf_text.training.fitting``) only publishes its version and returns it; the model hands it to
``LearnsInstantly.publish_fine_tuned``, which lets the instant layer decide what serves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from hf_text.data.annotations import annotation_time, chosen_annotation
from hf_text.data.controls import ControlSpec
from hf_text.instant.records import InstantRecords, version_store
from hf_text.task import TextTask
from label_studio_ml.context import BackendContext
from label_studio_ml.model import MODEL_VERSION_KEY, VERSIONS_KEY
from label_studio_ml.server.status import SERVED_KEY
from label_studio_ml.studio.labeled_source import LABEL_STUDIO

logger = logging.getLogger(__name__)

#: A refit that finds the records changed meanwhile (another replica learned too) refits again.
MAX_REFITS = 3
#: After Label Studio could not be read, events are learned alone for this long before trying again.
RESYNC_BACKOFF_S = 60.0


@dataclass(frozen=True)
class Labeled:
    """One labeled task for one control: what a record is made from."""

    task_id: Any
    annotation_id: Any
    text: str
    target: Any
    annotated_at: str


class InstantLayer(Protocol):
    """What a model's instant layer does; ``HFTextModel.instant_layer`` returns one."""

    def records(self, control: ControlSpec, items: Sequence[Labeled]) -> list[dict[str, Any]]:
        """One JSON-ready record per item (the task's embedding, its spans, ...)."""

    def refit(self, records: dict[str, list[dict[str, Any]]]) -> str | None:
        """Refit on every record (by control name), publish, choose what serves; the served version."""


class LabeledProject(Protocol):
    """What instant learning reads of a project (``HFTextModel`` is one): where it keeps its state,
    its controls, a task's text for a control, and its labeled tasks with where they came from."""

    project_id: Any
    #: Where the last ``labeled_tasks`` came from (``label_studio_ml.studio.labeled_source``).
    labeled_tasks_source: str

    @property
    def context(self) -> BackendContext: ...

    def controls(self) -> list[ControlSpec]: ...

    def task_text(self, task: dict[str, Any], control: ControlSpec) -> str | None: ...

    def labeled_tasks(self) -> list[dict[str, Any]]: ...


def _annotation_id(annotation: dict[str, Any]) -> Any:
    return annotation.get("id")


class InstantLearner:
    """Applies one webhook event to a project's records, then refits its instant layer."""

    def __init__(self, project: LabeledProject, task: TextTask, layer: InstantLayer) -> None:
        self.project = project
        self.task = task
        self.layer = layer

    def store(self, control: ControlSpec) -> InstantRecords:
        """The records of ``control``."""
        return InstantRecords(self.project.context.data_dir, self.project.project_id, control.from_name)

    def learn_many(self, events: Sequence[tuple[str, dict[str, Any]]]) -> str | None:
        """Apply ``events`` in order, then refit once (a burst of annotations costs one refit, not one
        each); the version served afterwards. An event that cannot be applied is logged and skipped."""
        torch.set_num_threads(1)  # this thread only: a small refit must not fight the request threads
        started = time.monotonic()
        controls = self.project.controls()
        changed = False
        for event, data in events:
            try:
                changed = self.apply(controls, event, data) or changed
            except Exception:  # one bad event must not cost the others what they teach
                logger.exception("project %s: cannot learn from %s at once", self.project.project_id, event)
        if not changed:
            return None
        version = self.refit(controls)
        logger.info(
            "project %s: learned from %d event(s) at once in %.2f s; serving %s",
            self.project.project_id, len(events), time.monotonic() - started, version,
        )  # fmt: skip
        return version

    def apply(self, controls: list[ControlSpec], event: str, data: dict[str, Any]) -> bool:
        """Change the records as ``event`` says; whether a refit may be due (``False``: a bulk
        creation that could not be read from Label Studio)."""
        must_sync = event == "ANNOTATIONS_CREATED" or not self.store(controls[0]).synced()
        if must_sync and not self.resync(controls) and event == "ANNOTATIONS_CREATED":
            return False
        if event == "ANNOTATIONS_DELETED":
            self.forget(controls, data)
        elif event in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED"):
            self.remember(controls, data)
        return True

    def remember(self, controls: list[ControlSpec], data: dict[str, Any]) -> None:
        """Replace the records of the event's task with what its annotation teaches."""
        task, annotation = data.get("task"), data.get("annotation")
        if not isinstance(task, dict) or not isinstance(annotation, dict) or task.get("id") is None:
            return
        usable = chosen_annotation({"annotations": [annotation]}) is not None
        for control in controls:
            labeled = self.labeled(task, annotation, control) if usable else None
            if labeled is None:
                self.store(control).remove(task["id"])
            else:
                self.store(control).put(task["id"], self.layer.records(control, [labeled])[0])

    def forget(self, controls: list[ControlSpec], data: dict[str, Any]) -> None:
        """Remove the records made from the deleted annotations."""
        ids = {item.get("id") for item in data.get("annotations") or [] if isinstance(item, dict)}
        for control in controls:
            store = self.store(control)
            for task_id in store.task_ids_with_annotations(ids):
                store.remove(task_id)

    def labeled(
        self, task: dict[str, Any], annotation: dict[str, Any], control: ControlSpec
    ) -> Labeled | None:
        """What ``annotation`` of ``task`` teaches about ``control``, or ``None``."""
        text = self.project.task_text(task, control)
        if text is None:
            return None
        results = self.task.results_of(annotation, control)
        target = self.task.target_from_results(results, text, control)
        if target is None:
            return None
        when = annotation_time(annotation).isoformat()
        return Labeled(task["id"], _annotation_id(annotation), text, target, when)

    def resync(self, controls: list[ControlSpec]) -> bool:
        """Rebuild every record from the project's labeled tasks in Label Studio; whether it could."""
        project = self.project.project_id
        if not self.store(controls[0]).resync_allowed():
            return False
        try:
            tasks = self.project.labeled_tasks()
        except Exception as exc:  # Label Studio unreachable: learn from the events alone meanwhile
            self.store(controls[0]).postpone_resync(RESYNC_BACKOFF_S)
            logger.warning("project %s: cannot read labeled tasks to learn from: %s", project, exc)
            return False
        if self.project.labeled_tasks_source != LABEL_STUDIO:
            # Only what the webhooks brought, which the records hold already (and records kept
            # before an upgrade would be lost): the events alone meanwhile, as when unreachable.
            self.store(controls[0]).postpone_resync(RESYNC_BACKOFF_S)
            return False
        for control in controls:
            store = self.store(control)
            items = []
            for task in tasks:
                annotation = chosen_annotation(task)
                labeled = self.labeled(task, annotation, control) if annotation is not None else None
                if labeled is not None:
                    items.append(labeled)
            keep = {item.task_id for item in items}
            for record in store.all():
                if record.get("task") not in keep:
                    store.remove(record.get("task"))
            for item, record in zip(items, self.layer.records(control, items), strict=True):
                store.put(item.task_id, record)
        self.store(controls[0]).mark_synced(len(tasks))
        logger.info("project %s: instant layer rebuilt from %d labeled task(s)", project, len(tasks))
        return True

    def refit(self, controls: list[ControlSpec]) -> str | None:
        """Refit on every record; again while other processes changed the records meanwhile."""
        version = None
        for _ in range(MAX_REFITS):
            before = {control.from_name: self.store(control).fingerprint() for control in controls}
            version = self.layer.refit({c.from_name: self.store(c).all() for c in controls})
            if all(self.store(c).fingerprint() == before[c.from_name] for c in controls):
                break
        return version


class LearnsInstantly:
    """What ``HFTextModel`` adds for instant learning: the events, the default (zero-shot) version,
    serving light versions, and letting the instant layer decide whether a fine-tune serves."""

    #: Every annotation change refits the instant layer at once (``INSTANT_LEARNING``).
    INSTANT_EVENTS: tuple[str, ...] = (
        "ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED", "ANNOTATIONS_DELETED",
    )  # fmt: skip

    @property
    def model_version(self: Any) -> str:
        """The version Label Studio sees (the newest instant head may serve under it, see
        ``visible_version``); before any is published, the light layer's default (zero-shot)."""
        stored = self.get(MODEL_VERSION_KEY)
        if stored and not self.is_default_version(stored):
            return str(stored)
        return self.default_version() or self.INITIAL_MODEL_VERSION

    def default_version(self) -> str | None:
        """The version served before anything was learned (``None``: the initial, empty one)."""
        return None

    def is_default_version(self, version: str) -> bool:
        """Whether ``version`` is a default version (it follows the label config, not the state)."""
        return False

    def instant_layer(self) -> InstantLayer | None:
        """The light layer refit on every annotation (``None``: the model has none)."""
        return None

    def learn_instantly(self: Any, event: str, data: dict[str, Any]) -> None:
        """Refit the instant layer on the event's annotation change and publish it at once."""
        self.learn_instantly_many([(event, data)])

    def learn_instantly_many(self: Any, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Apply every queued event's annotation change, then refit and publish once."""
        layer = self.instant_layer() if self.hf_settings.instant_learning else None
        if layer is not None:
            InstantLearner(self, self.task, layer).learn_many(events)

    def publish_fine_tuned(self: Any, version: str) -> None:
        """Serve a freshly trained version, or, with instant learning, let the instant layer decide."""
        layer = self.instant_layer() if self.hf_settings.instant_learning else None
        if layer is None:
            self.set_model_version(version)
            return
        versions = list(self.get(VERSIONS_KEY) or [])
        if version not in versions:  # listed by /versions even while the instant layer serves
            self.set(VERSIONS_KEY, [*versions, version])
        served = InstantLearner(self, self.task, layer).refit(self.controls())
        store = version_store(self.context.data_dir, self.project_id)
        builds_on = (store.meta(served) or {}).get("fine_tuned") if served else None
        if version not in (served, builds_on):  # "why does training do nothing?", answered in words
            why = (self.get(SERVED_KEY) or {}).get("why")
            logger.info(
                "project %s: fine-tuned version %s is published, but %s keeps serving: %s",
                self.project_id, version, served or "the initial version", why,
            )  # fmt: skip

    def predict_light(self, tasks: list[dict[str, Any]], version: str) -> list[dict[str, Any]] | None:
        """Predictions of a light version (zero-shot, instant); ``None`` for a fine-tuned one."""
        return None
