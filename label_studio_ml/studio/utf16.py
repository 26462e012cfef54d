"""Offsets in Label Studio's units (UTF-16 code units, as JavaScript counts) against Python's code points."""

from __future__ import annotations

_BMP_LIMIT = 0xFFFF


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (JavaScript's ``text.length``)."""
    return len(text) + sum(1 for char in text if ord(char) > _BMP_LIMIT)


def code_points(text: str, units: int) -> int:
    """How many code points of ``text`` its first ``units`` UTF-16 units cover (half a surrogate
    pair covers its character)."""
    count = used = 0
    for char in text:
        if used >= units:
            break
        used += 2 if ord(char) > _BMP_LIMIT else 1
        count += 1
    return count
