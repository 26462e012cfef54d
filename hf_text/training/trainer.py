"""A thin wrapper over HF ``Trainer``: our settings in, progress out, no checkpoints or reporting."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hf_text.runtime.device import mixed_precision_flags
from hf_text.settings import HFSettings
from hf_text.training.memory import release_memory
from hf_text.training.training_device import pinned_arguments

logger = logging.getLogger(__name__)

#: Receives ``epoch`` (1..``epochs``), ``step`` (1..``total_steps``) and ``loss`` while training runs.
ProgressFn = Callable[..., None]


@dataclass(frozen=True)
class TrainStats:
    """What a finished training run reports about itself."""

    steps: int
    epochs: float
    train_loss: float
    seconds: float
    rows: int
    learning_rate: float


def epoch_of(step: int, steps_per_epoch: int, total_steps: int) -> tuple[int, int]:
    """``(k, n)``: optimizer step ``step`` is in epoch ``k`` of ``n`` (both counted from 1).

    The Trainer's own ``state.epoch`` is a float (57.0 at the end of the 57th pass), and a training
    raised to ``MIN_TRAIN_STEPS`` runs more passes than ``NUM_TRAIN_EPOCHS`` says: whole numbers
    from the step count read as what they are.
    """
    per_epoch = max(1, steps_per_epoch)
    epochs = max(1, math.ceil(total_steps / per_epoch))
    return min(epochs, max(1, math.ceil(step / per_epoch))), epochs


def _progress_callback(progress: ProgressFn | None, steps_per_epoch: int) -> Any:
    from transformers import TrainerCallback

    class _Progress(TrainerCallback):
        """Forwards the Trainer's loss logs to ``progress``, which logs them (the framework's
        progress sink, with the project's id); with nobody to tell, logs them here."""

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
        ) -> None:
            if not logs or "loss" not in logs:
                return
            step, total = int(state.global_step), int(state.max_steps)
            epoch, epochs = epoch_of(step, steps_per_epoch, total)
            fields = {
                "epoch": epoch,
                "epochs": epochs,
                "step": step,
                "total_steps": total,
                "loss": round(float(logs["loss"]), 5),
            }
            if progress is None:
                logger.info("training progress: epoch %d of %d, step %d of %d, loss %s",
                            epoch, epochs, step, total, fields["loss"])  # fmt: skip
            else:
                progress(**fields)

    return _Progress()


def _steps_per_epoch(settings: HFSettings, rows: int) -> int:
    return max(1, math.ceil(rows / settings.batch_size))


def training_epochs(settings: HFSettings, rows: int, warm: bool = False) -> float:
    """``NUM_TRAIN_EPOCHS``, or more when that would give fewer than ``MIN_TRAIN_STEPS`` steps.

    The first trainings of a project see a few dozen annotations: three epochs of those are a
    handful of optimizer steps, too few for a fresh head to learn anything. A warm-started head
    (``warm``) has learned already: it trains ``NUM_TRAIN_EPOCHS`` over what is new, no more.
    """
    if warm:
        return settings.num_train_epochs
    return max(settings.num_train_epochs, settings.min_train_steps / _steps_per_epoch(settings, rows))


def warm_learning_rate(settings: HFSettings, learning_rate: float) -> float:
    """The learning rate of a warm-started training: ``WARM_LEARNING_RATE_FACTOR`` of ``learning_rate``.

    A full training's rate (3e-4 for NER) is sized for a fresh head; on the hundred-odd examples
    of a warm start it pulls the served head towards them: on CoNLL-2003 (2,000 + 20 sentences)
    that lost 4.7 held-out points against the served head, a fifth of the rate 2.1, a tenth 0.4;
    a twentieth lost 0.4 on average over five replay samples (from +0.5 to -1.8).
    """
    return learning_rate * settings.warm_learning_rate_factor


def _arguments(
    settings: HFSettings, learning_rate: float, device: torch.device, scratch: Path, rows: int, warm: bool
) -> Any:
    epochs = training_epochs(settings, rows, warm)
    total_steps = max(1, math.ceil(_steps_per_epoch(settings, rows) * epochs))
    return pinned_arguments(device)(
        output_dir=str(scratch),
        num_train_epochs=epochs,
        learning_rate=warm_learning_rate(settings, learning_rate) if warm else learning_rate,
        # A warm start continues a trained head at an already small rate: no decay towards zero
        # over its few steps (a full training decays linearly, transformers' default).
        lr_scheduler_type="constant" if warm else "linear",
        weight_decay=settings.weight_decay,
        per_device_train_batch_size=settings.batch_size,
        seed=settings.seed,
        data_seed=settings.seed,
        # Rows of similar length share a batch: far less padding, same examples per epoch.
        train_sampling_strategy="group_by_length",
        logging_strategy="steps",
        logging_steps=max(1, total_steps // 20),
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=device.type == "cpu",
        dataloader_pin_memory=device.type == "cuda",
        **mixed_precision_flags(device),
    )


def train_model(
    model: Any,
    tokenizer: Any,
    rows: list[dict[str, Any]],
    collator: Any,
    settings: HFSettings,
    learning_rate: float,
    device: torch.device,
    scratch: Path,
    progress: ProgressFn | None = None,
    warm: bool = False,
) -> TrainStats:
    """Fine-tune ``model`` in place on ``rows`` (tokenized features with ``labels``) on ``device``.

    ``collator`` pads each batch to its own longest row (dynamic padding). ``scratch`` is a
    folder the Trainer may write to; nothing there is kept. ``warm``: ``model`` continues a
    trained head (no minimum step count, a fraction of ``learning_rate``, no decay).
    """
    from transformers import PrinterCallback, Trainer

    if not rows:
        raise ValueError("no training rows")
    started = time.monotonic()
    arguments = _arguments(settings, learning_rate, device, scratch, len(rows), warm)
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=rows,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[_progress_callback(progress, _steps_per_epoch(settings, len(rows)))],
    )
    # Our callback already logs progress; the default printer would repeat it on stdout.
    trainer.remove_callback(PrinterCallback)
    try:
        output = trainer.train()
        epochs = float(trainer.state.epoch or 0.0)
    finally:
        del trainer  # its optimizer state is twice the model's size
        release_memory()
    model.eval()
    stats = TrainStats(
        steps=int(output.global_step),
        epochs=epochs,
        train_loss=float(output.training_loss),
        seconds=round(time.monotonic() - started, 2),
        rows=len(rows),
        learning_rate=float(arguments.learning_rate),
    )
    logger.info("training finished: %s", stats)
    return stats
