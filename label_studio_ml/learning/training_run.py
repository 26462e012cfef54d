"""One claimed training run, from ``start`` to ``finish``: the same code in a serving process's
training slot (embedded mode) and in an RQ worker (distributed mode)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from label_studio_ml.logs import redact
from label_studio_ml.model import MODEL_VERSION_KEY, LabelStudioMLBase, ProgressSink
from label_studio_ml.state.evaluations import record_evaluations
from label_studio_ml.state.training_state import MAX_ATTEMPTS, Run, TrainingState, owner_id, run_data
from label_studio_ml.telemetry.metrics import count_training

logger = logging.getLogger(__name__)

#: Makes the model instance that trains (a fresh one per run, never a serving instance).
ModelFactory = Callable[[str], LabelStudioMLBase]


def execute_run(
    state: TrainingState,
    make_model: ModelFactory,
    secrets: tuple[str, ...],
    project: str,
    claimed_by: str,
    data: dict[str, Any],
) -> dict[str, Any] | None:
    """Run the training ``claimed_by`` queued for ``project`` in this process.

    Returns the data of a follow-up run that was requested meanwhile (now queued for this process,
    to be submitted to the runner), or ``None``. Does nothing when the run was taken over by another
    process while it waited.
    """
    me = owner_id()
    run = state.start(project, claimed_by, runner=me)
    if run is None:
        return None
    stop = threading.Event()
    beat = threading.Thread(
        target=_keep_alive, args=(state, project, me, stop), name=f"training-heartbeat-{project}", daemon=True
    )
    beat.start()
    started = time.monotonic()
    try:
        error, metrics = _fit(state, make_model, secrets, project, me, run, data)
    finally:
        stop.set()
        beat.join()  # the run's threads end with the run (a stopped backend leaves none behind)
    count_training(failed=error is not None, seconds=time.monotonic() - started)  # before it shows idle
    record_evaluations(state.store, project, metrics)  # the learning curve outlives the next summary
    version = state.store.get(project, MODEL_VERSION_KEY)  # what a follow-up run starts from
    follow_up = state.finish(project, me, error=error, metrics=metrics, version=version)
    return None if follow_up is None else run_data(project, follow_up)


def _fit(
    state: TrainingState,
    make_model: ModelFactory,
    secrets: tuple[str, ...],
    project: str,
    me: str,
    run: Run,
    data: dict[str, Any],
) -> tuple[str | None, dict[str, Any] | None]:
    if run.attempts >= MAX_ATTEMPTS:
        message = f"training interrupted {run.attempts} times in a row (its process died); not tried again"
        logger.error("project %s: %s", project, message)
        return message, None
    logger.info("project %s: training started (%s)", project, run.event)
    try:
        model = make_model(project)
        if run.resumed and model.get(MODEL_VERSION_KEY) != run.base_version:
            # The interrupted attempt published its version before it died: publish nothing twice.
            logger.info("project %s: resumed training had already published %s", project, model.model_version)
            return None, None
        model.progress_sink = _progress_sink(state, project, me)
        before = model.model_version
        metrics = model.fit(run.event, data) or {}
        if model.AUTO_BUMP_VERSION and model.model_version == before:
            model.bump_model_version()
        logger.info("project %s: training finished, model_version=%s", project, model.model_version)
        return None, json_ready(metrics)
    except Exception as exc:  # a failing fit must never take the process down
        logger.exception("project %s: training failed", project)
        # /metrics shows the error: never with a token or a password in it.
        return redact(f"{type(exc).__name__}: {exc}", secrets), None


def _progress_sink(state: TrainingState, project: str, me: str) -> ProgressSink:
    def sink(fields: dict[str, Any]) -> None:
        logger.info("project %s: training progress: %s", project, describe_progress(fields))
        state.heartbeat(project, me, json_ready(fields))

    return sink


def describe_progress(fields: dict[str, Any]) -> str:
    """``epoch 2 of 3, step 10 of 30, loss 0.41, head=sentiment``: counts read "k of n" where the
    model reports both (``epochs``, ``total_steps``), anything else as ``name=value``."""
    rest = dict(json_ready(fields))
    parts = []
    for name, total in (("epoch", "epochs"), ("step", "total_steps")):
        if name in rest:
            count = rest.pop(name)
            parts.append(f"{name} {count} of {rest.pop(total)}" if total in rest else f"{name} {count}")
    if "loss" in rest:
        parts.append(f"loss {rest.pop('loss')}")
    return ", ".join(parts + [f"{name}={value}" for name, value in rest.items()])


def _keep_alive(state: TrainingState, project: str, me: str, stop: threading.Event) -> None:
    interval = max(1.0, state.lease_seconds / 4)
    while not stop.wait(interval):
        try:
            state.heartbeat(project, me)
        except Exception:  # the state store may be briefly unreachable; the next beat retries
            logger.warning("project %s: training heartbeat failed; retrying", project, exc_info=True)


def json_ready(value: Any) -> Any:
    """Metrics from numpy/torch become plain floats so they can be stored and served."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
