"""``LabelStudioMLBase``: the contract a custom model implements (upstream 2.x compatible).

A model subclass overrides ``setup``, ``predict`` and ``fit``. The server keeps one instance
per project and label config and reuses it across requests; it is rebuilt only when the
project's ``model_version`` or label config changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from label_studio_sdk.label_interface import LabelInterface

from label_studio_ml.compat.helpers import UpstreamHelpers
from label_studio_ml.context import BackendContext, default_context
from label_studio_ml.errors import LabelStudioNotConnected, UnprocessableEntity
from label_studio_ml.lifecycle import ModelLifecycle
from label_studio_ml.response import ModelResponse
from label_studio_ml.state.project_key import label_studio_id
from label_studio_ml.studio.client import LabelStudioAccess
from label_studio_ml.studio.label_config import parse_label_config
from label_studio_ml.studio.labeled_source import ACCESS_KEY, LABEL_STUDIO, WEBHOOKS, read_labeled_tasks
from label_studio_ml.studio.received import ReceivedAnnotations
from label_studio_ml.telemetry.metrics import count_version

logger = logging.getLogger(__name__)

MODEL_VERSION_KEY = "model_version"
VERSIONS_KEY = "model_versions"


#: Receives the fields of each ``report_progress`` call.
ProgressSink = Callable[[dict[str, Any]], None]


class LabelStudioMLBase(UpstreamHelpers, ModelLifecycle):
    """Base class of every model served by ``label_studio_ml``; upstream's helpers and the process
    lifecycle hooks (``prepare``, ``warm_up``, ``stop``, ...) come from the mixins."""

    INITIAL_MODEL_VERSION = "0.0.1"
    #: Upstream models often never change ``model_version`` after ``fit``; the server then bumps
    #: it so Label Studio re-predicts. Models that publish versions themselves set this False.
    AUTO_BUMP_VERSION = True
    TRAIN_EVENTS: tuple[str, ...] = (
        "ANNOTATION_CREATED",
        "ANNOTATION_UPDATED",
        "ANNOTATIONS_CREATED",
        "ANNOTATIONS_DELETED",
        "START_TRAINING",
    )
    _in_setup = False
    #: Where ``report_progress`` sends its fields: the framework sets it on the instance that runs a
    #: training (the run's log and lease heartbeat, shown by ``/metrics``); ``None`` otherwise.
    progress_sink: ProgressSink | None = None

    def __init__(
        self,
        project_id: str | None = None,
        label_config: str | None = None,
        *,
        context: BackendContext | None = None,
        **kwargs: Any,
    ) -> None:
        self.project_id = str(project_id) if project_id is not None else "default"
        self.context = context or default_context(type(self))
        self.label_config: str | None = None
        self._label_interface: LabelInterface | None = None
        if label_config is not None:
            self.use_label_config(label_config)
        elif self.has("label_config"):
            self.use_label_config(self.get("label_config"))
        self._in_setup = True
        try:
            self.setup()
        finally:
            self._in_setup = False

    # -- lifecycle -------------------------------------------------------------------------
    def setup(self) -> None:
        """Per-instance initialisation; called once when the instance is created. Keep it fast."""

    def use_label_config(self, label_config: str) -> None:
        """Parse and remember the project's label config."""
        interface = parse_label_config(label_config)
        self.label_config = label_config
        self._label_interface = interface
        if self.get("label_config") != label_config:
            self.set("label_config", label_config)

    @property
    def label_interface(self) -> LabelInterface:
        """The SDK's ``LabelInterface`` over the project's label config."""
        if self._label_interface is None:
            raise UnprocessableEntity("no label config is known for this project yet")
        return self._label_interface

    # -- per-project state -----------------------------------------------------------------
    def get(self, key: str) -> Any:
        """A value of this project's persistent state (``None`` when absent)."""
        return self.context.state.get(self.project_id, key)

    def set(self, key: str, value: Any) -> None:
        """Persist a JSON-serialisable value in this project's state."""
        if key == MODEL_VERSION_KEY and self._in_setup and not self._accepts_setup_version(value):
            return  # a version training published since stays (see UpstreamHelpers)
        self.context.state.set(self.project_id, key, value)

    def has(self, key: str) -> bool:
        """Whether this project's state holds ``key``."""
        return self.context.state.has(self.project_id, key)

    @property
    def model_version(self) -> str:
        """The version Label Studio sees for this project; it changes after every training."""
        return self.get(MODEL_VERSION_KEY) or self.INITIAL_MODEL_VERSION

    def set_model_version(self, version: str) -> None:
        """Publish ``version`` as the project's current model version (and remember it)."""
        versions = list(self.get(VERSIONS_KEY) or [])
        new = version not in versions
        if new:
            versions.append(version)
        self.set(VERSIONS_KEY, versions)
        before = self.get(MODEL_VERSION_KEY)
        self.set(MODEL_VERSION_KEY, version)
        if self.get(MODEL_VERSION_KEY) != version:  # ``set`` may keep a newer one in ``setup``
            return
        if new:
            count_version(version)
        if before != version:
            self.context.versions.published(self.project_id, version)

    @classmethod
    def available_versions(cls, context: BackendContext, project: str, versions: list[str]) -> list[str]:
        """Which of ``versions`` (every version ever published for ``project``) can still be served.

        The base class keeps nothing on disk, so all of them; models with a version store filter
        out the versions it no longer holds.
        """
        return versions

    def bump_model_version(self) -> str:
        """Publish a new version derived from the current one; used when ``fit`` set none."""
        runs = len(self.get(VERSIONS_KEY) or []) + 1
        version = f"{self.INITIAL_MODEL_VERSION}-r{runs}"
        self.set_model_version(version)
        return version

    # -- the model contract ----------------------------------------------------------------
    def predict(
        self, tasks: list[dict[str, Any]], context: dict[str, Any] | None = None, **kwargs: Any
    ) -> ModelResponse | list[Any] | dict[str, Any]:
        """Return one prediction per task, in order."""
        raise NotImplementedError

    #: Webhook actions handed to ``learn_instantly`` in the background (none by default).
    INSTANT_EVENTS: tuple[str, ...] = ()

    def learn_instantly(self, event: str, data: dict[str, Any]) -> None:
        """Learn from one annotation event at once (a light update, seconds at most), off the webhook's
        thread; a model that changes what it serves publishes a new version itself."""

    def learn_instantly_many(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Learn from the project's events that queued up while the previous update ran, in order.

        One by one by default, a failing event logged and skipped; a model whose update refits on
        everything it knows overrides this to apply them all and refit once.
        """
        for event, data in events:
            try:
                self.learn_instantly(event, data)
            except Exception:  # one bad event must not stop the events after it
                logger.exception("project %s: learning from %s at once failed", self.project_id, event)

    def fit(self, event: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        """Train on the project's labeled data; return evaluation metrics (or ``None``)."""
        return None

    def task_clusters(self, tasks: list[dict[str, Any]]) -> list[int] | None:
        """A diversity cluster per task (similar tasks share one), for active learning's queue:
        Label Studio prefers the cluster an annotator has labeled least. ``None``: one for all."""
        return None

    def process_event(
        self, event: str, data: dict[str, Any], job_id: str | None, additional_params: Any
    ) -> Any:
        """Upstream's entry point for events; delegates to ``fit``."""
        return self.fit(event, data, job_id=job_id, additional_params=additional_params)

    # -- helpers for fit -------------------------------------------------------------------
    def label_studio(self) -> LabelStudioAccess:
        """How to reach this project's Label Studio (environment first, then ``/setup``'s values)."""
        access = self.context.label_studio_for(self.project_id)
        if access is None:
            raise LabelStudioNotConnected(
                "no Label Studio URL and token for this project: set LABEL_STUDIO_URL and "
                "LABEL_STUDIO_API_KEY, or connect the backend from Label Studio first"
            )
        return access

    @property
    def label_studio_project(self) -> str:
        """The id Label Studio's API knows this project by (``project_id`` also holds its creation
        time, which tells two Label Studios' project 1 apart; see ``project_key``)."""
        return label_studio_id(self.project_id)

    #: Where the last ``labeled_tasks`` came from: ``"label_studio"`` or ``"webhooks"``.
    labeled_tasks_source = LABEL_STUDIO

    def labeled_tasks(self) -> list[dict[str, Any]]:
        """Every labeled task of this project, with its annotations: read from Label Studio, or, when it
        refuses the token or none is known, the tasks the annotation webhooks brought (the reason is
        logged in one line and shown by ``/metrics``)."""
        tasks, report = read_labeled_tasks(
            lambda: self.label_studio().labeled_tasks(self.label_studio_project),
            self.received_annotations(),
            key_from_env=bool(self.context.settings.label_studio_api_key),
        )
        self.labeled_tasks_source = report["source"]
        self.set(ACCESS_KEY, report)
        if report["source"] == WEBHOOKS:
            logger.warning("project %s: %s", self.project_id, report["reason"])
        return tasks

    def received_annotations(self) -> ReceivedAnnotations:
        """The annotations this project's webhooks brought (kept by the server as they arrive)."""
        return ReceivedAnnotations(self.context.data_dir, self.project_id)

    def unlabeled_tasks(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` tasks of this project that nobody has labeled yet."""
        return self.label_studio().unlabeled_tasks(self.label_studio_project, limit)

    def report_progress(self, **fields: Any) -> None:
        """Record training progress (epoch, step, loss, ...) for logs and ``/metrics``."""
        if self.progress_sink is not None:
            self.progress_sink(fields)

    def resolve_text(self, value: Any, value_type: str | None = None) -> str | None:
        """Task text as a string; with ``valueType="url"`` read through the project's Label Studio only.

        Uploads, Local Files URLs and cloud storage URIs are served by Label Studio; any other URL is
        refused (``DataAccessDenied``), a missing file raises ``TaskDataUnreadable``.
        """
        if not isinstance(value, str):
            return None
        if value_type == "url":
            return self.label_studio().fetch_text(value, project_id=self.label_studio_project)
        return value
