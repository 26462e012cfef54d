"""The rules every predicted NER region must keep, whatever the model's tokenizer.

A region's ``text`` is the task text's UTF-16 slice ``[start:end]`` (what Label Studio highlights);
it never begins or ends with whitespace, never cuts a grapheme (an emoji sequence, a letter and its
combining mark) and begins or ends with punctuation only where an annotation did too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import regex

Span = tuple[int, int, str]


def js_slice(text: str, start: int, end: int) -> str:
    """``text.slice(start, end)`` as JavaScript computes it (UTF-16 code units)."""
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le", errors="replace")


def _grapheme_bounds(text: str) -> set[int]:
    """UTF-16 offsets where a grapheme cluster starts or ends."""
    bounds, units = {0}, 0
    for cluster in regex.findall(r"\X", text):
        units += len(cluster.encode("utf-16-le")) // 2
        bounds.add(units)
    return bounds


def _punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def region_problems(
    text: str, regions: Iterable[dict[str, Any]], annotated: Sequence[Span] = ()
) -> list[str]:
    """What is wrong with each of ``regions`` predicted for ``text``, one line per broken rule.

    ``annotated`` spans allow punctuation at the edges they have; without annotations the
    punctuation rule is not checked (a baseline head's spans have no reference).
    """
    bounds = _grapheme_bounds(text)
    starts, ends = {span[0] for span in annotated}, {span[1] for span in annotated}
    problems = []
    for region in regions:
        value = region["value"]
        start, end, shown = value["start"], value["end"], value["text"]
        where = f"{start}:{end} {shown!r}"
        if not 0 <= start < end or js_slice(text, start, end) != shown:
            problems.append(f"{where} is not the text's slice {js_slice(text, start, end)!r}")
            continue
        if shown[0].isspace() or shown[-1].isspace():
            problems.append(f"{where} begins or ends with whitespace")
        if start not in bounds or end not in bounds:
            problems.append(f"{where} cuts a grapheme")
        if annotated and ((_punctuation(shown[0]) and start not in starts)
                          or (_punctuation(shown[-1]) and end not in ends)):  # fmt: skip
            problems.append(f"{where} has punctuation at an edge that no annotation has")
    return problems


def predicted_spans(regions: Iterable[dict[str, Any]]) -> set[Span]:
    """``(start, end, label)`` of each region."""
    return {(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in regions}


def reproduced(expected: Iterable[Span], regions: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """How many of the ``expected`` spans the regions reproduce exactly, and how many there are."""
    wanted = set(expected)
    return len(wanted & predicted_spans(regions)), len(wanted)
