"""A model's tokens read as our words (:mod:`huggingface_ner.words.segmentation`), by character offsets.

- A token's offsets are trimmed of whitespace first: byte-level BPE (GPT-2, RoBERTa, ModernBERT)
  and SentencePiece (DeBERTa-v3, XLM-R, ALBERT) tokenizers put the space before a word into the
  span of its first token, and some give the leading ``▁`` a token of its own. A token left with
  no character (a standalone ``▁``, a space or newline token), a special token, and a token on
  characters that are no word (a lone zero-width space) belong to no word.
- A token belongs to the first of our words its trimmed span touches. A token spanning
  several words ("Berlin." where the tokenizer has no boundary before the full stop) belongs to
  the first, ``Berlin``; one spanning "-York" belongs to ``-``.
- A word's first piece is its first token: the one with the lowest start over all the windows of
  the text, and of those the one reaching furthest, and of those the last in its window. Training
  labels it and prediction reads it, so a window that begins inside a word does not label or
  read the continuation piece it starts with. The ties are real: a SentencePiece tokenizer may
  give the ``▁`` before a text's first word the span of that word's first character, and a
  byte-level one splits an emoji into several tokens with the same span.
- A word in which no token begins (a token of an earlier word covers it) has no first piece; its
  tag follows the word before it (:func:`huggingface_ner.merge.merge_windows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hf_text.text.window import Window
from huggingface_ner.words.segmentation import Words, segment


@dataclass(frozen=True)
class WindowWords:
    """One window and, per token, its word (``None``: none) and whether it is that word's first piece."""

    window: Window
    word_ids: list[int | None]
    first: list[bool]


@dataclass(frozen=True)
class TextWindows:
    """One text's words and its windows (in text order) with their tokens read as those words."""

    words: Words
    windows: list[WindowWords]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` without the whitespace at either end (empty, at ``end``, if all whitespace)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


Span = tuple[int, int]


def _token_words(text: str, words: Words, window: Window) -> tuple[list[int | None], list[Span]]:
    """Each token's word and its trimmed span."""
    word_ids: list[int | None] = []
    spans: list[Span] = []
    for (start, end), special in zip(window.offsets, window.special, strict=True):
        start, end = trim(text, start, end)
        word_ids.append(None if special or end <= start else words.first_in(start, end))
        spans.append((start, end))
    return word_ids, spans


def _goes_before(span: Span, anchor: Span | None) -> bool:
    """Whether ``span`` starts before ``anchor``, or at the same character and reaches further."""
    return anchor is None or (span[0], -span[1]) < (anchor[0], -anchor[1])


def read_windows(text: str, windows: Sequence[Window]) -> TextWindows:
    """``text``'s words, and its ``windows``' tokens read as those words by the rules above."""
    words = segment(text)
    tokens = [_token_words(text, words, window) for window in windows]
    anchors: dict[int, Span] = {}  # the span of each word's first piece
    for word_ids, spans in tokens:
        for word, span in zip(word_ids, spans, strict=True):
            if word is not None and _goes_before(span, anchors.get(word)):
                anchors[word] = span
    read = []
    for window, (word_ids, spans) in zip(windows, tokens, strict=True):
        first, seen = [False] * len(word_ids), set()
        for i in reversed(range(len(word_ids))):  # of equal spans the last (a "▁" comes before its word)
            word = word_ids[i]
            if word is not None and word not in seen and spans[i] == anchors[word]:
                first[i] = True
                seen.add(word)
        read.append(WindowWords(window, word_ids, first))
    return TextWindows(words, read)
