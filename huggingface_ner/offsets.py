"""Character offsets in Label Studio's units (UTF-16 code units) and in Python's (code points).

Label Studio measures span offsets as JavaScript does: a character outside the Basic Multilingual
Plane (most emoji, some CJK) counts two units. Python strings and the tokenizers' offset
mappings count code points. Every span that crosses the boundary between the two (training input
read from annotations, predictions sent back) goes through :class:`Utf16Offsets`.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate

_BMP_LIMIT = 0xFFFF


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what JavaScript's ``text.length`` returns)."""
    return len(text) + sum(1 for char in text if ord(char) > _BMP_LIMIT)


class Utf16Offsets:
    """Converts offsets between code points and UTF-16 code units for one text.

    Texts without astral characters (the common case) convert by identity, without building
    a table; otherwise a prefix-sum table of UTF-16 positions makes each conversion O(log n).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.length = len(text)
        # _units[i] is the UTF-16 position of code point i; one extra entry for the end.
        self._units: list[int] | None = None
        if any(ord(char) > _BMP_LIMIT for char in text):
            widths = (2 if ord(char) > _BMP_LIMIT else 1 for char in text)
            self._units = [0, *accumulate(widths)]

    @property
    def utf16_length(self) -> int:
        """Length of the text in UTF-16 code units."""
        return self.length if self._units is None else self._units[-1]

    def to_utf16(self, index: int) -> int:
        """UTF-16 position of code point ``index`` (clamped to the text)."""
        index = min(max(index, 0), self.length)
        return index if self._units is None else self._units[index]

    def from_utf16(self, unit: int, *, round_up: bool = False) -> int:
        """Code-point position of UTF-16 position ``unit`` (clamped to the text).

        A position between the two halves of a surrogate pair names no character boundary:
        it is rounded down (the character is included when ``unit`` starts a span) or, with
        ``round_up=True``, up (the character is included when ``unit`` ends a span).
        """
        if self._units is None:
            return min(max(unit, 0), self.length)
        unit = min(max(unit, 0), self._units[-1])
        index = bisect_left(self._units, unit)
        if self._units[index] != unit and not round_up:
            index -= 1
        return index

    def span_from_utf16(self, start: int, end: int) -> tuple[int, int]:
        """A Label Studio span ``[start, end)`` as code points, widened to whole characters."""
        return self.from_utf16(start), self.from_utf16(end, round_up=True)

    def span_to_utf16(self, start: int, end: int) -> tuple[int, int]:
        """A code-point span ``[start, end)`` in Label Studio's UTF-16 units."""
        return self.to_utf16(start), self.to_utf16(end)
