"""Choosing, once at start-up, where trainings run: this process's slots, or RQ workers."""

from __future__ import annotations

from label_studio_ml.context import BackendContext
from label_studio_ml.learning.runner_threads import ThreadRunner
from label_studio_ml.learning.training import TrainingQueue, TrainingRunner
from label_studio_ml.projects import ProjectRegistry
from label_studio_ml.state.training_state import TrainingState


def build_training_queue(context: BackendContext, registry: ProjectRegistry) -> TrainingQueue:
    """The training queue of a serving process: RQ when ``REDIS_URL`` is set, else local threads."""
    state = TrainingState(context.state, context.settings.training_lease_seconds)
    runner: TrainingRunner
    if context.settings.redis_url:
        from label_studio_ml.learning.runner_rq import RQRunner

        runner = RQRunner(context, registry.model_class)
    else:
        runner = ThreadRunner(
            state, lambda project: registry.create(project, None), context.secrets,
            context.settings.max_concurrent_trainings, context.threads,
        )  # fmt: skip
    return TrainingQueue(context, state, runner)
