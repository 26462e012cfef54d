"""Resolving overlapping windows of one long text into one tag per word (``huggingface_ner.words``).

Each word is read from its first piece in the window where that piece sits farthest from the
window's edges, where the model saw the most context on both sides. Every word is decided exactly
once, so spans decoded afterwards are neither duplicated by two windows nor cut at a window's edge.

A word in which no token begins (a token of the word before covers it: "Berlin." as one token)
has no piece of its own and follows the word before it, as a continuation of its entity. A
punctuation mark or symbol does so only inside an entity (when the next word continues it too), so
a region never ends on punctuation the model did not mark on a piece of its own: the "Berlin."
token tagged ``B-LOC`` gives the region ``Berlin``, while "New" + "-York" tagged ``B-LOC``,
``I-LOC`` gives ``New-York``. A word no token reaches and with no word before it is left out (``O``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from huggingface_ner.bio import WordTag
from huggingface_ner.labels import Tag
from huggingface_ner.words.segmentation import Words


@dataclass(frozen=True)
class WindowPrediction:
    """One window's tokens as words (``huggingface_ner.words.tokens``) and the model's choice per token."""

    word_ids: Sequence[int | None]
    first: Sequence[bool]
    label_ids: Sequence[int]
    scores: Sequence[float]


def merge_windows(
    words: Words, windows: Sequence[WindowPrediction], id2tag: Mapping[int, Tag]
) -> list[WordTag]:
    """One :class:`WordTag` per word of the text, in text order, each from its most central window."""
    best: dict[int, tuple[int, Tag, float]] = {}
    for window in windows:
        positions = [i for i, word in enumerate(window.word_ids) if word is not None]
        if not positions:
            continue
        low, high = positions[0], positions[-1]
        for i in positions:
            word = window.word_ids[i]
            if word is None or not window.first[i]:
                continue  # a continuation piece: its word is read from its first piece
            centrality = min(i - low, high - i)
            if word not in best or centrality > best[word][0]:
                best[word] = (centrality, id2tag[int(window.label_ids[i])], float(window.scores[i]))
    return _pieceless_follow(words, {word: (tag, score) for word, (_, tag, score) in best.items()})


def _pieceless_follow(words: Words, read: Mapping[int, tuple[Tag, float]]) -> list[WordTag]:
    """Every word's tag: its own where a piece was read, else the word before's, by the rules above."""
    tags: dict[int, tuple[Tag, float]] = {}
    for word in range(len(words)):
        if word in read:
            tags[word] = read[word]
        elif word - 1 in tags:
            before, score = tags[word - 1]
            tags[word] = (Tag(before.entity), score)
    for word in reversed(range(len(words))):  # right to left: a run of marks ends with its last
        tag, score = tags.get(word, (Tag(None), 0.0))
        if word in read or words.letters[word] or tag.entity is None:
            continue
        after = tags.get(word + 1, (Tag(None), 0.0))[0]
        if after.begins or after.entity != tag.entity:
            tags[word] = (Tag(None), score)
    return [WordTag(*words.span(word), tag=tag, score=score) for word, (tag, score) in sorted(tags.items())]
