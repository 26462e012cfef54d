"""Training targets: annotated character spans → one BIO tag per word → one label id per token.

Rules (the same words and windows as inference: our words, ``huggingface_ner.words``):

- A word belongs to a span when any of its characters is inside the span, so a span that starts
  or ends inside a word is widened to whole words, as predictions will be. A span on whitespace
  only covers no word.
- Overlapping spans cannot both be expressed in BIO: spans are taken by start, the longer first
  on the same start, and a span that shares a word with one already taken is dropped whole.
- Only each word's first piece carries its tag (``huggingface_ner.words.tokens``); special
  tokens, padding, whitespace-only tokens and continuation pieces get ``-100`` (ignored by the
  loss), matching the piece prediction reads. A word in which no token begins is not trained on
  its own: it follows the word before it when predicted (``huggingface_ner.merge``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from huggingface_ner.bio import Span, WordTag
from huggingface_ner.labels import OUTSIDE, Tag
from huggingface_ner.words.segmentation import Words

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Alignment:
    """Word tags for one text, plus how many annotated spans could not be used."""

    tags: dict[int, Tag]
    dropped: int = 0


def align_spans(words: Words, spans: Iterable[Span]) -> Alignment:
    """Tag every word ``O``, ``B-x`` or ``I-x`` from code-point spans, by the rules above."""
    tags: dict[int, Tag] = {word: Tag(None) for word in range(len(words))}
    dropped = 0
    for span in sorted(spans, key=lambda s: (s.start, s.start - s.end)):
        covered = range(bisect_right(words.ends, span.start), bisect_left(words.starts, span.end))
        if not covered or any(tags[w].entity is not None for w in covered):
            dropped += 1
            continue
        for index, word in enumerate(covered):
            tags[word] = Tag(span.entity, begins=index == 0)
    return Alignment(tags=tags, dropped=dropped)


def tag_name(tag: Tag) -> str:
    """The BIO label name of a tag (``O``, ``B-x`` or ``I-x``)."""
    if tag.entity is None:
        return OUTSIDE
    return f"{'B' if tag.begins else 'I'}-{tag.entity}"


def token_labels(
    word_ids: Sequence[int | None],
    first: Sequence[bool],
    tags: Mapping[int, Tag],
    label2id: Mapping[str, int],
) -> list[int]:
    """Label ids for one window: the word's tag on its first piece, ``-100`` everywhere else."""
    return [
        label2id[tag_name(tags[word])] if word is not None and is_first else IGNORE_INDEX
        for word, is_first in zip(word_ids, first, strict=True)
    ]


def tagged_words(words: Words, tags: Mapping[int, Tag]) -> list[WordTag]:
    """Word tags as :class:`WordTag` items (probability 1), ready for ``decode_spans``."""
    return [WordTag(*words.span(word), tags[word]) for word in range(len(words))]
