"""UTF-16 code units (Label Studio) ↔ code points (Python): both directions, both rounding sides."""

from __future__ import annotations

import pytest

from huggingface_ner.offsets import Utf16Offsets, utf16_length


def js_slice(text: str, start: int, end: int) -> str:
    """What JavaScript's ``text.slice(start, end)`` returns, computed on UTF-16 code units."""
    units = text.encode("utf-16-le")
    return units[2 * start : 2 * end].decode("utf-16-le")


def test_label_studio_issue_1347_example():
    # The documented case: "annotation" after a leading emoji is [13, 23) in Label Studio.
    text = "💩This is an annotation."
    offsets = Utf16Offsets(text)
    start = text.index("annotation")
    assert offsets.span_to_utf16(start, start + len("annotation")) == (13, 23)
    assert offsets.span_from_utf16(13, 23) == (start, start + len("annotation"))


@pytest.mark.parametrize(
    "text",
    ["plain ascii", "café Zürich", "💩", "a💩b", "🇫🇷 flag 👩‍👩‍👧 family", "日本語 𠮷野家", "", "x😀😀y"],
)
def test_round_trip_and_js_agreement_at_every_boundary(text):
    offsets = Utf16Offsets(text)
    assert offsets.utf16_length == utf16_length(text) == len(text.encode("utf-16-le")) // 2
    for i in range(len(text) + 1):
        unit = offsets.to_utf16(i)
        assert offsets.from_utf16(unit) == i
        assert offsets.from_utf16(unit, round_up=True) == i
        for j in range(i, len(text) + 1):
            assert js_slice(text, unit, offsets.to_utf16(j)) == text[i:j]


def test_unit_inside_a_surrogate_pair_widens_to_the_whole_character():
    text = "a💩b"  # units: a=0, 💩=1..2, b=3
    offsets = Utf16Offsets(text)
    assert offsets.from_utf16(2) == 1  # a start between the halves includes the emoji
    assert offsets.from_utf16(2, round_up=True) == 2  # an end between the halves includes it too
    assert offsets.span_from_utf16(2, 2) == (1, 2)


def test_out_of_range_positions_are_clamped():
    for text in ["abc", "a💩"]:
        offsets = Utf16Offsets(text)
        assert offsets.from_utf16(-4) == 0
        assert offsets.from_utf16(99) == len(text)
        assert offsets.to_utf16(99) == offsets.utf16_length
        assert offsets.to_utf16(-1) == 0
