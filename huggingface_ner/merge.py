"""Resolving overlapping windows of one long text into one tag per word.

Each word is read from the window in which its first piece sits farthest from the window's
edges, where the model saw the most context on both sides. Every word is decided exactly once,
so spans decoded afterwards are neither duplicated by two windows nor cut at a window's edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from huggingface_ner.alignment import Offsets, WordIds, word_bounds
from huggingface_ner.bio import WordTag
from huggingface_ner.labels import Tag


@dataclass(frozen=True)
class WindowPrediction:
    """One window's tokens (global word ids, code-point offsets) and the model's choice per token."""

    word_ids: WordIds
    offsets: Offsets
    label_ids: Sequence[int]
    scores: Sequence[float]


def merge_windows(windows: Sequence[WindowPrediction], id2tag: Mapping[int, Tag]) -> list[WordTag]:
    """One :class:`WordTag` per word of the text, in text order, each from its most central window."""
    bounds = word_bounds((w.word_ids, w.offsets) for w in windows)
    best: dict[int, tuple[int, Tag, float]] = {}
    for window in windows:
        positions = [i for i, word in enumerate(window.word_ids) if word is not None]
        if not positions:
            continue
        first, last = positions[0], positions[-1]
        for i in positions:
            word = window.word_ids[i]
            if word not in bounds or window.offsets[i][0] != bounds[word][0]:
                continue  # a continuation piece, or a piece with no characters
            centrality = min(i - first, last - i)
            if word not in best or centrality > best[word][0]:
                tag = id2tag[int(window.label_ids[i])]
                best[word] = (centrality, tag, float(window.scores[i]))
    ordered = sorted(best, key=lambda w: bounds[w][0])
    return [WordTag(*bounds[w], tag=best[w][1], score=best[w][2]) for w in ordered]
