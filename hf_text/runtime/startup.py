"""Process start-up for the HF backends: fail fast on bad settings, then warm the model cache."""

from __future__ import annotations

import logging
from pathlib import Path

from hf_text.model_store import ModelStore
from hf_text.runtime.baseline_check import check_baseline
from hf_text.runtime.device import choose_device
from hf_text.runtime.head_loading import configure_threads, load_head
from hf_text.runtime.loader import load_tokenizer
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.settings import HFSettings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import ModelUnavailable
from label_studio_ml.model import MODEL_VERSION_KEY

logger = logging.getLogger(__name__)


def prepare_baseline(settings: HFSettings, kind: str | None = None) -> Path:
    """Validate the device and resolve (download if needed) the baseline model; raises early.

    With ``kind`` (a task kind), a baseline that cannot train or serve it is refused here
    (``hf_text.runtime.baseline_check``), not at every training or request.
    """
    choose_device(settings.device)
    threads = configure_threads(settings)
    logger.info("inference: %s back end, %d intra-op thread(s)", settings.inference_backend, threads)
    folder = resolve_model_folder(settings.baseline_model_name)
    logger.info("baseline model %s is %s", settings.baseline_model_name, folder)
    if kind is not None:
        check_baseline(folder, kind)
    # transformers imports its classes lazily; a training thread importing them while the warm-up
    # thread does can see a half-initialised module ("cannot import name 'set_seed'"). Import the
    # training side here, in the one thread that starts the server.
    import transformers

    for name in ("Trainer", "TrainingArguments", "set_seed", "AutoModelForSequenceClassification"):
        getattr(transformers, name)
    return folder


def warm_cache(context: BackendContext, settings: HFSettings, task_kind: str) -> int:
    """Load the baseline tokenizer and the served weights of known projects; returns how many.

    Only versions whose metadata names ``task_kind`` are loaded, and no more than the cache
    keeps, so a restart answers its first predictions without loading. A project whose version
    cannot be loaded is logged and skipped: it must not keep the others (and ``/health``) down.
    Its ``/predict`` answers 503 with the reason until a later load succeeds.
    """
    load_tokenizer(resolve_model_folder(settings.baseline_model_name))
    device = choose_device(settings.device)
    loaded = 0
    for project in context.state.projects():
        store = ModelStore(context.data_dir, project, settings.finetuned_model_name)
        version = str(context.state.get(project, MODEL_VERSION_KEY) or "")
        meta = store.meta(version)
        if meta is None or meta.get("task_kind") != task_kind:
            continue
        for head in meta.get("heads", []):
            if loaded >= settings.model_cache_size:
                return loaded
            try:
                load_head(store.root / version / str(head["dir"]), head, task_kind, settings, device)
            except Exception as exc:  # best effort: /predict reports this project's failure itself
                reason = exc.message if isinstance(exc, ModelUnavailable) else f"{type(exc).__name__}: {exc}"
                logger.warning("project %s: model version %s not loaded: %s", project, version, reason)
                break
            loaded += 1
    return loaded
