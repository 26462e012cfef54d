"""Decoding one tag per word into entity spans (BIO rules), in code-point offsets.

Decisions are per *word* as the tokenizer's pre-tokenizer splits the text (whitespace and
punctuation), read from the word's first sub-word piece, which is the piece training labels. A
span therefore always starts at a word's first character and ends at a word's last one: it can
never start or end inside a word, and whitespace outside the words is never part of a span.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from huggingface_ner.labels import Tag


@dataclass(frozen=True)
class WordTag:
    """A word's characters ``[start, end)``, its tag, and the probability the model gave that tag."""

    start: int
    end: int
    tag: Tag
    score: float = 1.0


@dataclass(frozen=True)
class RegionChoice:
    """A span's per-region choice: the ``<Choices perRegion="true">`` it answers, the choice, how sure."""

    from_name: str
    choice: str
    score: float = 1.0


@dataclass(frozen=True)
class Span:
    """An entity ``[start, end)`` in code points; ``score`` is the mean of its words' probabilities;
    ``choices``: its per-region choices (an annotated span's, or those predicted for it)."""

    start: int
    end: int
    entity: str
    score: float = 1.0
    choices: tuple[RegionChoice, ...] = ()


def decode_spans(words: Iterable[WordTag]) -> list[Span]:
    """Group consecutive words into spans.

    A span starts at a ``B-`` word, at an ``I-`` word whose type differs from the open span's,
    or at an ``I-`` word after an ``O``; it ends before an ``O`` or before the next span's start.
    So two same-type entities separated by other words, or marked ``B-`` back to back, stay two.
    """
    spans: list[Span] = []
    open_words: list[WordTag] = []
    for word in sorted(words, key=lambda w: w.start):
        entity = word.tag.entity
        continues = bool(open_words) and not word.tag.begins and open_words[-1].tag.entity == entity
        if entity is not None and continues:
            open_words.append(word)
            continue
        if open_words:
            spans.append(_close(open_words))
        open_words = [word] if entity is not None else []
    if open_words:
        spans.append(_close(open_words))
    return spans


def _close(words: list[WordTag]) -> Span:
    entity = words[0].tag.entity
    assert entity is not None  # only entity words are ever opened
    score = sum(w.score for w in words) / len(words)
    return Span(start=words[0].start, end=words[-1].end, entity=entity, score=score)


def text_score(spans: list[Span], words: list[WordTag], certain: Sequence[Span] = ()) -> float:
    """How sure the model is of a text's regions: the lowest probability of any word's tag, a word
    inside a ``certain`` span (one the span dictionary propagated) counting as 1.0; without words
    (no model: the dictionary alone), the spans' mean score, 0.0 with none.

    Active learning hands out the lowest score first: ordered so, CoNLL entity F1 after 40 labels
    beat the spans' mean score and random order (bench/ner_uncertainty.py, docs/active_learning.md).
    """
    if words:
        ordered = sorted(certain, key=lambda span: span.start)
        return round(min(1.0 if _inside(word, ordered) else word.score for word in words), 6)
    return round(sum(span.score for span in spans) / len(spans), 6) if spans else 0.0


def _inside(word: WordTag, spans: Sequence[Span]) -> bool:
    """Whether ``word`` lies in one of ``spans`` (sorted by start, never overlapping: propagated spans
    are not; a binary search, so a long text with many propagated names stays fast)."""
    index = bisect.bisect_right(spans, word.start, key=lambda span: span.start) - 1
    return index >= 0 and spans[index].end >= word.end
