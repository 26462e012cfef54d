"""The services one process runs for a model class, assembled in one place.

The HTTP server (``api.create_app``) and a training worker (``commands.worker``, or a plain
``rq worker`` through ``commands.training_job``) start the same ones: the settings, the context
(state, model store, Label Studio connections), the registry of live model instances, the training
queue and its runner, instant updates and the warm-up. The server puts HTTP routes over them; a
worker runs RQ jobs with them and builds no app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.learning.active.driver import ActiveLearning
from label_studio_ml.learning.instant import InstantUpdates
from label_studio_ml.learning.runners import build_training_queue
from label_studio_ml.learning.training import TrainingQueue
from label_studio_ml.lifecycle import STOP_TIMEOUT_S, Readiness
from label_studio_ml.logs import configure_logging
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.state.files import keep_new_files_private
from label_studio_ml.state.redis_exposure import check_redis_exposure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What serves ``model_class`` in this process; ``settings`` are the serving settings (basic
    auth, request size, role), ``context.settings`` those the state was opened with."""

    model_class: type[LabelStudioMLBase]
    settings: Settings
    context: BackendContext
    registry: ProjectRegistry
    queue: TrainingQueue
    instant: InstantUpdates
    readiness: Readiness
    active: ActiveLearning

    @classmethod
    def start(
        cls,
        model_class: type[LabelStudioMLBase],
        settings: Settings | None = None,
        context: BackendContext | None = None,
    ) -> Services:
        """Open the state, run the class's ``prepare`` and start the training queue (which resumes
        trainings a restart or crash interrupted), instant updates and the warm-up."""
        settings = settings or (context.settings if context else Settings.from_env())
        keep_new_files_private()  # before the state is opened: it holds Label Studio tokens
        check_redis_exposure(settings)  # the same tokens, in a Redis that must not be open to all
        configure_logging(
            settings.log_level,
            secrets=tuple(s for s in (settings.basic_auth_pass, settings.label_studio_api_key) if s),
        )
        context = context or BackendContext.for_model(model_class, settings)
        context.connections.register_all(context.state.projects())  # tokens stored before a restart
        model_class.prepare(context)  # fail at start-up (e.g. an unreachable hub model), not later
        registry = ProjectRegistry(model_class, context)
        queue = build_training_queue(context, registry)
        queue.start()
        instant = InstantUpdates(registry)
        active = ActiveLearning(registry, settings)
        context.versions.subscribe(active.poke)  # a new version re-ranks Label Studio's queue
        readiness = Readiness.start(model_class, context, settings.role)
        return cls(model_class, settings, context, registry, queue, instant, readiness, active)

    def stop(self, timeout: float | None = STOP_TIMEOUT_S) -> bool:
        """Stop serving: the model class's ``stop`` joins the framework's threads, then this process's
        queued trainings are handed to the next process; whether every thread ended in time."""
        stopped = self.model_class.stop(self.context, timeout)
        self.queue.release()
        return stopped is not False  # an override that returns nothing said nothing against it
