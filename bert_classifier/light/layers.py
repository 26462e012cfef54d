"""Which layer serves a project: zero-shot, the instant head or the fine-tuned model, and why.

Every layer is scored on labels it never learned from: zero-shot learns nothing, so on every
label; the instant head by cross-validation (each label predicted by the head fitted without it);
a fine-tuned version forward, when a label arrives after it was trained (the fit's forward
evaluation does the same for the served version). Two layers are compared on the same labels,
counting those only one of them got right, and a challenger must win clearly (a sign test, ``Z``):
a few lucky labels never swing what serves.

* The instant head replaces zero-shot from the first annotation (it starts from the same label
  descriptions), unless zero-shot is clearly better on the labeled texts.
* A fine-tuned version replaces the instant head only when the fine-tuned versions were clearly
  better than the instant head on the (at most ``WINDOW``) latest labels that arrived after each
  was trained. The verdict belongs to the fine-tuned line, so a retrained version serves at once
  when its predecessors won.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Recent labels a comparison looks at.
WINDOW = 100
#: How clearly a challenger must win: (wins - losses) >= Z * sqrt(wins + losses).
Z = 2.0
#: Zero-shot whose measured accuracy is not this far above chance is called near chance.
CHANCE_MARGIN = 0.1
#: Labels zero-shot needs before it can be called near chance.
MIN_CHANCE_EVIDENCE = 10

ZERO_SHOT = "zero-shot"
INSTANT = "instant"
FINE_TUNED = "fine-tuned"
NONE = "none"


@dataclass(frozen=True)
class Duel:
    """A challenger against the incumbent on the same labels: those only one of them got right."""

    challenger: str
    incumbent: str
    wins: int = 0
    losses: int = 0
    labels: int = 0
    #: Labels each side got right (ties included): the duel's scores, in words in ``describe``.
    challenger_right: int = 0
    incumbent_right: int = 0

    @classmethod
    def of(cls, challenger: str, incumbent: str, pairs: list[tuple[float, float]]) -> Duel:
        """From ``(challenger right, incumbent right)`` per label."""
        wins = sum(1 for mine, theirs in pairs if mine > theirs)
        losses = sum(1 for mine, theirs in pairs if mine < theirs)
        right = sum(1 for mine, _ in pairs if mine > 0), sum(1 for _, theirs in pairs if theirs > 0)
        return cls(challenger, incumbent, wins, losses, len(pairs), *right)

    @property
    def challenger_wins(self) -> bool:
        """Whether the challenger is clearly better (sign test)."""
        decided = self.wins + self.losses
        return decided > 0 and self.wins - self.losses >= Z * math.sqrt(decided)

    def describe(self) -> str:
        """One line for ``/metrics``."""
        return (
            f"on the last {self.labels} labels {self.challenger} was right on {self.challenger_right} "
            f"and {self.incumbent} on {self.incumbent_right} ({self.challenger} alone was right "
            f"{self.wins} times, {self.incumbent} alone {self.losses} times)"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the verdict."""
        return {
            "challenger": self.challenger,
            "incumbent": self.incumbent,
            "wins": self.wins,
            "losses": self.losses,
            "labels": self.labels,
            "challenger_right": self.challenger_right,
            "incumbent_right": self.incumbent_right,
            "challenger_wins": self.challenger_wins,
        }


@dataclass(frozen=True)
class Choice:
    """The layer to serve, its version, and why."""

    layer: str
    version: str | None
    why: str

    def report(self, **details: Any) -> dict[str, Any]:
        """What ``/metrics`` shows under ``served``."""
        return {"layer": self.layer, "model_version": self.version, "why": self.why, **details}


def near_chance(accuracy: float | None, labels_checked: int, choices: int) -> bool:
    """Whether zero-shot's measured accuracy is too close to guessing to be worth showing."""
    if accuracy is None or labels_checked < MIN_CHANCE_EVIDENCE or choices < 1:
        return False
    return accuracy <= 1.0 / choices + CHANCE_MARGIN


def choose(
    zero_shot: str | None,
    instant: str | None,
    fine_tuned: str | None,
    zero_shot_duel: Duel | None = None,
    fine_tuned_duel: Duel | None = None,
) -> Choice:
    """The layer to serve from the versions available (``None``: that layer has none) and the duels
    of zero-shot and of the fine-tuned line against the instant head."""
    if instant is None:
        if fine_tuned is not None:
            return Choice(FINE_TUNED, fine_tuned, "no instant head to compare with")
        if zero_shot is not None:
            return Choice(ZERO_SHOT, zero_shot, "no annotation yet")
        return Choice(NONE, None, "no annotation yet, and zero-shot does not serve this config")
    if fine_tuned is not None and fine_tuned_duel is not None and fine_tuned_duel.challenger_wins:
        return Choice(FINE_TUNED, fine_tuned, f"{fine_tuned_duel.describe()}: the fine-tuned model is better")
    if zero_shot is not None and zero_shot_duel is not None and zero_shot_duel.challenger_wins:
        return Choice(ZERO_SHOT, zero_shot, f"{zero_shot_duel.describe()}: zero-shot is better")
    if fine_tuned is not None:
        evidence = (
            fine_tuned_duel.describe()
            if fine_tuned_duel and fine_tuned_duel.labels
            else "no label arrived after a fine-tuned version was trained, to compare the two on"
        )
        why = f"{evidence}; the instant head keeps serving until the fine-tuned model is clearly better"
        return Choice(INSTANT, instant, why)
    return Choice(INSTANT, instant, "learned from every annotation so far")
