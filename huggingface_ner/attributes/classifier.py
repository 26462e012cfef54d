"""A span's per-region choice from its words and the words around it: multinomial naive Bayes.

Features are the span's own words, its label, and up to ``WINDOW`` words on each side (lower-cased):
"the pasta was cold" teaches ``negative`` for the aspect "pasta" through "cold". Naive Bayes learns
from the first annotated region and refits in microseconds on every annotation, which is what an
instant layer needs; it only ever answers with a choice annotators gave.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Context words read on each side of a span.
WINDOW = 6
#: Characters searched on each side for those words (a bound on hostile texts without spaces).
_REACH = 200
_WORD = re.compile(r"\w+")


def span_features(text: str, start: int, end: int, entity: str) -> list[str]:
    """The span's words (``s:``), its label (``l:``) and the words around it (``c:``)."""
    left = _WORD.findall(text[max(0, start - _REACH) : start])[-WINDOW:]
    right = _WORD.findall(text[end : end + _REACH])[:WINDOW]
    inside = [f"s:{word.lower()}" for word in _WORD.findall(text[start:end])]
    return [*inside, f"l:{entity}", *(f"c:{word.lower()}" for word in [*left, *right])]


@dataclass
class ChoiceModel:
    """Counts per choice: of spans (the prior) and of their features (Laplace-smoothed likelihoods)."""

    spans: Counter[str] = field(default_factory=Counter)
    features: dict[str, Counter[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, examples: Iterable[tuple[list[str], str]]) -> ChoiceModel:
        """Counts of ``(features, choice)`` examples."""
        model = cls()
        for features, choice in examples:
            model.spans[choice] += 1
            model.features.setdefault(choice, Counter()).update(features)
        return model

    def predict(self, features: list[str]) -> tuple[str, float] | None:
        """The most probable choice and its posterior probability (``None``: nothing learned)."""
        if not self.spans:
            return None
        scores = {}
        for choice, (prior, denominator) in self._constants.items():
            counts = self.features.get(choice, Counter())
            likelihood = sum(math.log(counts.get(item, 0) + 1) - denominator for item in features)
            scores[choice] = prior + likelihood
        best = max(scores, key=lambda choice: (scores[choice], choice))
        norm = sum(math.exp(score - scores[best]) for score in scores.values())
        return best, 1.0 / norm

    @functools.cached_property
    def _constants(self) -> dict[str, tuple[float, float]]:
        """Each choice's log prior and log likelihood denominator, computed once (a text may have
        thousands of spans); the vocabulary gets one more slot for unseen words."""
        vocabulary = len(set().union(*(counts.keys() for counts in self.features.values())))
        total = sum(self.spans.values())
        return {
            choice: (
                math.log(count / total),
                math.log(sum(self.features.get(choice, Counter()).values()) + vocabulary + 1),
            )
            for choice, count in self.spans.items()
        }

    def to_json(self) -> dict[str, Any]:
        """JSON-ready counts."""
        features = {key: dict(value) for key, value in self.features.items()}
        return {"spans": dict(self.spans), "features": features}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChoiceModel:
        """The model ``to_json`` wrote."""
        features = {str(key): Counter(value) for key, value in (data.get("features") or {}).items()}
        return cls(Counter(data.get("spans") or {}), features)
