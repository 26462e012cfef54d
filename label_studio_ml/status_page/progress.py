"""A training's progress in a person's terms: how far, for how long, and about how long still."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """Where a queued or running training stands (``fraction`` ``None``: the model reports no count)."""

    state: str
    fraction: float | None
    counts: str
    elapsed_s: float | None
    left_s: float | None

    def line(self) -> str:
        """``running: epoch 1 of 3, step 10 of 30, loss 0.41; 12 s so far, about 24 s left``."""
        parts = [self.counts] if self.counts else []
        if self.elapsed_s is not None:
            parts.append(f"{duration(self.elapsed_s)} so far")
        if self.left_s is not None:
            parts.append(f"about {duration(self.left_s)} left")
        return f"{self.state}: " + ("; ".join(parts) if parts else "waiting for a training slot or worker")


def training_progress(training: dict[str, Any], now: float) -> Progress:
    """The progress of a ``training`` row of ``/metrics`` (queued or running) at ``now``."""
    fields = training.get("progress") if isinstance(training.get("progress"), dict) else {}
    state = str(training.get("state"))
    started = training.get("started_at") if state == "running" else None
    elapsed = max(0.0, now - float(started)) if isinstance(started, int | float) else None
    fraction = _fraction(fields)
    left = elapsed * (1 - fraction) / fraction if elapsed is not None and fraction else None
    return Progress(state, fraction, _counts(fields), elapsed, left)


def _fraction(fields: dict[str, Any]) -> float | None:
    """Steps done of all steps, else epochs done of all epochs."""
    for done, total in (("step", "total_steps"), ("epoch", "epochs")):
        if _number(fields.get(done)) and _number(fields.get(total)) and fields[total] > 0:
            return min(1.0, max(0.0, fields[done] / fields[total]))
    return None


def _counts(fields: dict[str, Any]) -> str:
    """``epoch 1 of 3, step 10 of 30, loss 0.41`` from what the model reported."""
    parts = []
    for done, total in (("epoch", "epochs"), ("step", "total_steps")):
        if _number(fields.get(done)):
            of = f" of {_plain(fields[total])}" if _number(fields.get(total)) else ""
            parts.append(f"{done} {_plain(fields[done])}{of}")
    if _number(fields.get("loss")):
        parts.append(f"loss {fields['loss']:.4g}")
    return ", ".join(parts)


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 02 min``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(value: float) -> str:
    return f"{value:g}"
