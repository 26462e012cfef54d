"""Which layer serves a project: zero-shot, the instant head or the fine-tuned model, and why.

Every layer is scored honestly, on labels it never learned from:

* zero-shot learns nothing, so every labeled example is held out from it;
* the instant head is scored by cross-validation (each example predicted by a head fitted
  without it: ``hf_text.instant_head``);
* a fine-tuned version is scored forward: on the labels that arrived after it was trained, each
  checked once, when it arrived (the same rule as the fit's forward evaluation).

The instant head replaces zero-shot from the first annotation (its prototypes start from the same
label descriptions) unless zero-shot scores better on at least ``MIN_EVIDENCE`` labels. A
fine-tuned version replaces the instant head only when it scores better than the instant head's
cross-validated predictions on the same labels, at least ``MIN_EVIDENCE`` of them. A new
fine-tuned version has seen every label, so nothing is held out from it yet: it inherits the
verdict of the version before it (a fine-tune that already won keeps serving as it is retrained;
one that lost waits for the labels that arrive after it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: Labels a comparison needs before it can overturn the default choice.
MIN_EVIDENCE = 5
#: Zero-shot whose measured accuracy is not this far above chance is called near chance.
CHANCE_MARGIN = 0.1

ZERO_SHOT = "zero-shot"
INSTANT = "instant"
FINE_TUNED = "fine-tuned"
NONE = "none"


@dataclass(frozen=True)
class Score:
    """A layer's accuracy on ``examples`` labels it never learned from (``None``: none yet)."""

    layer: str
    version: str | None
    accuracy: float | None
    examples: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded."""
        found = asdict(self)
        found["accuracy"] = None if self.accuracy is None else round(self.accuracy, 4)
        return found


@dataclass(frozen=True)
class Duel:
    """Fine-tuned against instant head on the same labels (those the fine-tuned one never saw)."""

    fine_tuned: float
    instant: float
    examples: int


@dataclass(frozen=True)
class Choice:
    """The layer to serve, its version, and why."""

    layer: str
    version: str | None
    why: str
    fine_tuned_wins: bool | None = None

    def report(self, scores: list[Score], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """What ``/metrics`` shows under ``served``."""
        return {
            "layer": self.layer,
            "model_version": self.version,
            "why": self.why,
            "fine_tuned_beats_instant": self.fine_tuned_wins,
            "scores": {score.layer: score.as_dict() for score in scores},
            **(extra or {}),
        }


def near_chance(score: Score | None, labels: int) -> bool:
    """Whether a measured zero-shot accuracy is too close to guessing to be worth showing."""
    if score is None or score.accuracy is None or score.examples < 2 * MIN_EVIDENCE or labels < 1:
        return False
    return score.accuracy <= 1.0 / labels + CHANCE_MARGIN


def choose(
    zero_shot: Score | None,
    instant: Score | None,
    fine_tuned: Score | None,
    duel: Duel | None,
    inherited: bool | None,
) -> Choice:
    """The layer to serve (see the module docstring); ``inherited`` is the last verdict of a
    fine-tuned version against the instant head, ``None`` before any."""
    light = _light(zero_shot, instant)
    if fine_tuned is None or fine_tuned.version is None:
        return light
    if light.layer != INSTANT:
        return Choice(FINE_TUNED, fine_tuned.version, "no instant head to compare with", inherited)
    if duel is not None and duel.examples >= MIN_EVIDENCE:
        wins = duel.fine_tuned > duel.instant
        verdict = (
            f"on the {duel.examples} labels {fine_tuned.version} never saw it scored {duel.fine_tuned:.3f}, "
            f"the instant head (cross-validated) {duel.instant:.3f}"
        )
        if wins:
            return Choice(FINE_TUNED, fine_tuned.version, verdict, True)
        return Choice(INSTANT, light.version, verdict, False)
    seen = duel.examples if duel else 0
    if inherited:
        why = (f"only {seen} label(s) since {fine_tuned.version} was trained; the fine-tuned version "
               "before it scored better than the instant head, so this one serves")  # fmt: skip
        return Choice(FINE_TUNED, fine_tuned.version, why, True)
    why = (f"only {seen} label(s) since {fine_tuned.version} was trained (a comparison needs "
           f"{MIN_EVIDENCE}); the instant head serves until the fine-tuned one scores better")  # fmt: skip
    return Choice(INSTANT, light.version, why, inherited)


def _light(zero_shot: Score | None, instant: Score | None) -> Choice:
    if instant is None or instant.version is None:
        if zero_shot is not None and zero_shot.version is not None:
            return Choice(ZERO_SHOT, zero_shot.version, "no annotation yet")
        return Choice(NONE, None, "no annotation yet and zero-shot is off")
    if (
        zero_shot is not None
        and zero_shot.version is not None
        and zero_shot.accuracy is not None
        and instant.accuracy is not None
        and zero_shot.examples >= MIN_EVIDENCE
        and zero_shot.accuracy > instant.accuracy
    ):
        return Choice(
            ZERO_SHOT,
            zero_shot.version,
            f"zero-shot scored {zero_shot.accuracy:.3f} on {zero_shot.examples} labels, the instant head "
            f"(cross-validated) {instant.accuracy:.3f}",
        )
    return Choice(INSTANT, instant.version, f"learned from {instant.examples} annotated task(s)")
