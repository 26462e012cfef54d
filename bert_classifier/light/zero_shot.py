"""Zero-shot classification: each text against each choice's own words, before any annotation.

A choice is described by its ``value``, its ``alias`` and its ``hint`` (when the config has them),
each alone and in the sentence "This text is about ...": the description's embedding is the mean
of those. A text's similarity to each description, divided by ``TEMPERATURE`` and softmaxed, gives
its probabilities.

Measured with the embedded MiniLM (``bench/zero_shot.py``): BBC News topics 0.77 accuracy (5
choices, chance 0.20), tweet sentiment 0.35 (3 choices, chance 0.33): whether label words carry the
meaning depends on the task, and no score computed from the texts alone tells the two apart. The
temperature is fitted on both sets together, so a score is neither BBC's nor the tweets' optimism.
Choices named by codes (``A``/``B``, ``L1``) carry no meaning at all: zero-shot is then off under
``ZERO_SHOT=auto`` (and ``/metrics`` says why), as it is for a model that is not a sentence
encoder, and for multi-label choices, where similarity gives no threshold for "applies".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hf_text.data.controls import ControlSpec

#: Softmax temperature over cosine similarities, fitted by likelihood on BBC News and tweet
#: sentiment together (``bench/zero_shot.py``).
TEMPERATURE = 0.056
TEMPLATES = ("{}", "This text is about {}.")
#: Bumped when descriptions or the temperature change, so a new version name makes Label Studio
#: ask for fresh predictions.
METHOD = "zs1"
VERSION_PREFIX = "zero-shot-"
_WORD = re.compile(r"[^\W\d_]{3,}")


def descriptions(control: ControlSpec) -> list[list[str]]:
    """For each label of ``control``, the distinct texts that describe it (value, alias, hint)."""
    found = []
    for label in control.labels:
        attrs = control.label_attrs.get(label, {})
        parts = [label, attrs.get("value", ""), attrs.get("hint", "")]
        found.append(list(dict.fromkeys(part.strip() for part in parts if part and part.strip())))
    return found


def uninformative(control: ControlSpec) -> list[str]:
    """Labels whose descriptions hold no word of three letters or more (codes like ``A``, ``L2``)."""
    return [
        label
        for label, texts in zip(control.labels, descriptions(control), strict=True)
        if not any(_WORD.search(text) for text in texts)
    ]


def why_not(control: ControlSpec, sentence_model: bool, mode: str) -> str | None:
    """Why zero-shot does not serve ``control`` under ``ZERO_SHOT=mode``, or ``None`` when it does."""
    if mode == "off":
        return "ZERO_SHOT=off"
    if control.multiple:
        return 'choice="multiple": similarity gives no threshold for whether a label applies'
    if mode == "on":
        return None
    if not sentence_model:
        return "the baseline model is not a sentence encoder (no sentence-transformers pooling)"
    codes = uninformative(control)
    if codes:
        shown = ", ".join(codes[:5]) + (" ..." if len(codes) > 5 else "")
        return f"labels {shown} are codes, not words: zero-shot would be near chance (ZERO_SHOT=on forces it)"
    return None


def prompts(texts: Sequence[str]) -> list[str]:
    """Every template filled with every description text."""
    return [template.format(text) for text in texts for template in TEMPLATES]


@dataclass(frozen=True)
class ZeroShotHead:
    """Label descriptions embedded, one unit row per label."""

    labels: tuple[str, ...]
    matrix: np.ndarray

    @classmethod
    def from_prompt_embeddings(cls, labels: Sequence[str], per_label: Sequence[np.ndarray]) -> ZeroShotHead:
        """The head from each label's prompt embeddings (averaged, re-normalised)."""
        rows = np.stack([np.asarray(vectors, dtype=np.float64).mean(axis=0) for vectors in per_label])
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        return cls(tuple(labels), rows.astype(np.float32))

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        """Similarities over the temperature, ``(texts, labels)``."""
        return (embeddings @ self.matrix.T) / TEMPERATURE


def version_name(control_texts: Sequence[Sequence[str]], encoder: str) -> str:
    """``zero-shot-<hash>``: changes when a label, a description, the encoder or the method does."""
    digest = hashlib.sha256(repr((METHOD, encoder, [list(t) for t in control_texts])).encode()).hexdigest()
    return f"{VERSION_PREFIX}{digest[:10]}"


def is_zero_shot_version(version: str | None) -> bool:
    """Whether ``version`` names a zero-shot version."""
    return bool(version) and str(version).startswith(VERSION_PREFIX)
