"""A text's words, by one rule of the project's own: NER tags words, whatever the tokenizer.

The rule, in this order (a "character" is a grapheme cluster, ``\\X``: a letter with its
combining accents, an emoji with its modifiers):

1. Whitespace (every Unicode ``White_Space`` character: spaces, tabs, newlines, NBSP, ...) is never
   a word nor the edge of one. Nor is a lone control or invisible format character (zero-width
   space, byte-order mark, soft hyphen, ...).
2. An emoji sequence is one word, kept whole: a ZWJ sequence (👩‍👩‍👧), a flag (🇩🇪), an emoji
   with its skin tone (👍🏽), a keycap (1️⃣).
3. In scripts written without spaces between words (Han, Hiragana, Katakana, Thai, Lao, Khmer,
   Myanmar) each character is a word, as BERT's pre-tokenizer does for Han: an entity can start
   and end at any character, and tokens spanning several are read as described in
   :mod:`huggingface_ner.words.tokens`.
4. A run of letters and digits, with the combining marks attached to them (and invisible format
   characters between two of them), is one word: ``Café``, ``naïve``, ``2024``, ``B2B``.
5. Every other character, a punctuation mark or a symbol, is a word on its own: ``Berlin.`` is
   ``Berlin`` and ``.``; ``(Microsoft)`` is three words; ``O'Neil`` and ``New-York`` are three
   words each, ``U.S.`` four, ``snake_case`` three, ``€5`` two.

On ordinary text these are the words of BERT's pre-tokenizer (whitespace and punctuation split
them); they differ where BERT keeps a non-ASCII symbol glued to letters (``€5``, ``°C``, ``Apple™``),
and they do not depend on a tokenizer's pre-tokenizer at all: byte-level BPE, SentencePiece and
WordPiece models tag the same words.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import regex

_KEYCAP = r"[#*0-9]\uFE0F?\u20E3"
_EMOJI = rf"(?=\p{{Extended_Pictographic}}|\p{{Regional_Indicator}}|{_KEYCAP})\X"
_UNSPACED = r"[\p{Han}\p{scx=Hiragana}\p{scx=Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]"
_LETTER = rf"(?=[\p{{L}}\p{{N}}])(?!{_KEYCAP})(?!{_UNSPACED})\X"
_PATTERN = regex.compile(
    rf"(?P<emoji>{_EMOJI})"
    rf"|(?P<unspaced>(?={_UNSPACED})\X)"
    rf"|(?P<letters>{_LETTER}(?:\p{{Cf}}*{_LETTER})*)"
    r"|(?P<other>(?![\s\p{Cc}\p{Cf}])\X)"
)


@dataclass(frozen=True)
class Words:
    """A text's words in text order: word ``i`` is ``text[starts[i]:ends[i]]``.

    ``letters[i]`` says whether word ``i`` is letters or digits (rules 3 and 4) rather than a
    punctuation mark, a symbol or an emoji (rules 2 and 5).
    """

    starts: list[int]
    ends: list[int]
    letters: list[bool]

    def __len__(self) -> int:
        return len(self.starts)

    def span(self, word: int) -> tuple[int, int]:
        """Word ``word``'s characters ``[start, end)``."""
        return self.starts[word], self.ends[word]

    def first_in(self, start: int, end: int) -> int | None:
        """The first word with a character in ``[start, end)``, or ``None`` (whitespace only)."""
        word = bisect_right(self.ends, start)  # words never overlap, so ends ascend too
        if word < len(self.starts) and self.starts[word] < end:
            return word
        return None


def segment(text: str) -> Words:
    """``text``'s words by the rule above (code-point offsets, as Python and the tokenizers count)."""
    starts, ends, letters = [], [], []
    for match in _PATTERN.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
        letters.append(match.lastgroup in ("letters", "unspaced"))
    return Words(starts, ends, letters)
