"""Training targets: annotated character spans → one BIO tag per word → one label id per token.

Rules (the same words and windows as inference, see :mod:`huggingface_ner.bio`):

- A word belongs to a span when any of its characters is inside the span, so a span that starts
  or ends inside a word is widened to whole words, as predictions will be.
- Overlapping spans cannot both be expressed in BIO: spans are taken by start, the longer first
  on the same start, and a span that shares a word with one already taken is dropped whole.
- Only the first piece of each word carries its tag; special tokens, padding and continuation
  pieces get ``-100`` (ignored by the loss), matching the piece prediction reads.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from huggingface_ner.bio import Span, WordTag
from huggingface_ner.labels import OUTSIDE, Tag

IGNORE_INDEX = -100

Offsets = Sequence[tuple[int, int]]
WordIds = Sequence[int | None]


@dataclass(frozen=True)
class Alignment:
    """Word tags for one text, plus how many annotated spans could not be used."""

    tags: dict[int, Tag]
    dropped: int = 0


def word_bounds(windows: Iterable[tuple[WordIds, Offsets]]) -> dict[int, tuple[int, int]]:
    """Each word's characters ``[start, end)``, merged over all its pieces in all windows."""
    bounds: dict[int, tuple[int, int]] = {}
    for word_ids, offsets in windows:
        for word, (start, end) in zip(word_ids, offsets, strict=True):
            if word is None or end <= start:
                continue
            low, high = bounds.get(word, (start, end))
            bounds[word] = (min(low, start), max(high, end))
    return bounds


def align_spans(bounds: Mapping[int, tuple[int, int]], spans: Iterable[Span]) -> Alignment:
    """Tag every word ``O``, ``B-x`` or ``I-x`` from code-point spans, by the rules above."""
    order = sorted(bounds, key=lambda w: bounds[w][0])
    starts = [bounds[w][0] for w in order]
    ends = [bounds[w][1] for w in order]  # words do not overlap, so ends are sorted too
    tags: dict[int, Tag] = {word: Tag(None) for word in order}
    dropped = 0
    for span in sorted(spans, key=lambda s: (s.start, s.start - s.end)):
        covered = order[bisect_right(ends, span.start) : bisect_left(starts, span.end)]
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
    word_ids: WordIds,
    offsets: Offsets,
    bounds: Mapping[int, tuple[int, int]],
    tags: Mapping[int, Tag],
    label2id: Mapping[str, int],
) -> list[int]:
    """Label ids for one window: the word's tag on its first piece, ``-100`` everywhere else.

    The first piece is the one starting at the word's first character, so a window that begins
    in the middle of a word does not label the continuation piece it starts with.
    """
    labels = []
    for word, (start, _end) in zip(word_ids, offsets, strict=True):
        if word is None or word not in tags or start != bounds[word][0]:
            labels.append(IGNORE_INDEX)
        else:
            labels.append(label2id[tag_name(tags[word])])
    return labels


def tagged_words(bounds: Mapping[int, tuple[int, int]], tags: Mapping[int, Tag]) -> list[WordTag]:
    """Word tags as :class:`WordTag` items (probability 1), ready for ``decode_spans``."""
    return [WordTag(bounds[w][0], bounds[w][1], tags[w]) for w in sorted(bounds, key=lambda w: bounds[w][0])]
