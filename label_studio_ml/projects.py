"""One live model instance per project, reused across requests and swapped on a new version."""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from label_studio_ml.caching import BackOff, BoundedCache
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import BackendError, ModelUnavailable, NotFound, UnprocessableEntity
from label_studio_ml.logs import redact
from label_studio_ml.model import MODEL_VERSION_KEY, LabelStudioMLBase
from label_studio_ml.studio.label_config import parse_label_config

logger = logging.getLogger(__name__)

#: A project whose model failed to load is tried again after this many seconds, not on every request
#: (``label_studio_ml.caching`` says why a model folder has a back-off of its own too).
RETRY_AFTER_S = 5.0
#: State key of a project whose label config this model cannot serve: the reason and when (``/metrics``).
REFUSED_KEY = "refused"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class _Entry:
    version: str | None
    instance: LabelStudioMLBase


def _hash(config: str | None) -> str:
    return hashlib.sha256((config or "").encode()).hexdigest()


class ProjectRegistry:
    """Creates model instances once per (project, label config, model version) in this process.

    Every lookup reads the project's current ``model_version`` from the shared state, so when
    another worker publishes a new version this worker serves it on its next request.
    """

    def __init__(self, model_class: type[LabelStudioMLBase], context: BackendContext, capacity: int = 32):
        self.model_class = model_class
        self.context = context
        self.capacity = capacity
        # Keyed by project, stamped with (config hash, version): another one is a miss. One load
        # per project at a time; a failure is forgotten when its back-off ends, never for room.
        self._entries: BoundedCache[str, _Entry] = BoundedCache(capacity, single_flight=True)
        self._failures: BackOff[str] = BackOff(RETRY_AFTER_S, remembered=math.inf)

    def instance(self, project: str, label_config: str | None = None) -> LabelStudioMLBase:
        """The live instance for ``project``; ``label_config`` defaults to the last one seen."""
        state = self.context.state
        config = label_config or state.get(project, "label_config")
        if not config:
            raise NotFound(f"unknown project {project}: send its label config or call /setup first")
        version = state.get(project, MODEL_VERSION_KEY)
        stamp = (_hash(config), version)
        entry = self._entries.get_or_compute(
            project, lambda: _Entry(version, self._create_or_explain(project, config, stamp)), stamp
        )
        return entry.instance

    def _create_or_explain(
        self, project: str, config: str, stamp: tuple[str, str | None]
    ) -> LabelStudioMLBase:
        """A new instance; a model that fails to load makes this project (only) answer 503 for a while."""
        refusal = self._failures.refusal(project, lambda: stamp)
        if refusal is not None:
            raise ModelUnavailable(refusal)
        try:
            instance = self.create(project, config)
        except UnprocessableEntity as exc:  # a config this model cannot serve: /metrics says why
            self.context.state.set(project, REFUSED_KEY, {"reason": exc.message, "at": _now()})
            raise
        except BackendError:
            raise  # already says what is wrong, with its own status
        except Exception as exc:
            logger.exception("project %s: the model could not be loaded", project)
            message = redact(
                f"the model of project {project} could not be loaded ({type(exc).__name__}: {exc}); "
                f"retrying in {self._failures.seconds:.0f} s",
                self.context.secrets.values,
            )
            self._failures.failed(project, stamp, message)
            raise ModelUnavailable(message) from exc
        self._failures.succeeded(project)
        if self.context.state.get(project, REFUSED_KEY) is not None:
            self.context.state.set(project, REFUSED_KEY, None)
        return instance

    def take_label_config(self, project: str, label_config: str) -> bool:
        """Remember a config a webhook brought, if it parses; returns whether it is the stored one now.

        A webhook's project row is not checked by anyone before it reaches us: a broken config stored
        here would break every later ``/predict`` without a config, and every training. The last
        valid one stays, and the reason is logged (Label Studio never retries a webhook, so the
        caller still answers 2xx).
        """
        state = self.context.state
        if state.get(project, "label_config") == label_config:
            return True  # the common case, every annotation: no parse
        try:
            parse_label_config(label_config)
        except UnprocessableEntity as exc:
            logger.warning(
                "project %s: a webhook brought a label config that cannot be used; the last valid one "
                "stays (%s)", project, exc.message,
            )  # fmt: skip
            return False
        state.set(project, "label_config", label_config)
        return True

    def create(self, project: str, label_config: str | None) -> LabelStudioMLBase:
        """A fresh instance, not shared (the training queue uses one per run)."""
        return self.model_class(project_id=project, label_config=label_config, context=self.context)

    def loaded_projects(self) -> dict[str, str | None]:
        """Projects with a live instance in this process, and the model version each one serves."""
        return {
            project: entry.version or entry.instance.INITIAL_MODEL_VERSION
            for project, entry in self._entries.items()
        }
