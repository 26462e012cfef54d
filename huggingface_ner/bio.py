"""Decoding one tag per word into entity spans (BIO rules), in code-point offsets.

Decisions are per *word* as the tokenizer's pre-tokenizer splits the text (whitespace and
punctuation), read from the word's first sub-word piece, which is the piece training labels. A
span therefore always starts at a word's first character and ends at a word's last one: it can
never start or end inside a word, and whitespace outside the words is never part of a span.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def text_score(spans: list[Span], words: list[WordTag]) -> float:
    """A text's score: its spans' mean score, or with no span, how sure the model is of "nothing"."""
    if spans:
        return round(sum(span.score for span in spans) / len(spans), 6)
    return round(sum(word.score for word in words) / len(words), 6) if words else 0.0
