"""Hostile sizes for NER span propagation: seconds for 4,000 to 32,000 words, before and after.

Propagation (``huggingface_ner.propagation``) runs inside every ``/predict`` of an NER project
with an annotated span, and its dictionary is rebuilt on every annotation. Three cases, each on
texts of ``"a " * words``:

* ``every word known``: ``a`` annotated once as PER (the issue's case), then one text predicted
  (``Propagator.spans``): every word is a match, and each must not overlap the ones before it.
* ``one big annotation``: the dictionary built from one annotated text where every other ``a``
  is marked (``EntityDictionary.build``): every occurrence is tested against the marked regions.
* ``2,000 names, one first word``: ``a 0`` ... ``a 1999`` annotated, then one text predicted
  that holds none of them: what finding the candidates costs when many names share a word.

``before`` is the code this replaced, kept below as the baseline (``Quadratic*``): a first-token
index that tries each surface of a token's group in turn, and an ``any()`` over every region
already there for each candidate. ``after`` is the product's code. Both must give the same
answer (checked each run). Runs are interleaved (sizes and implementations alternate in each of
``--repeats`` rounds, the order flipped every round) and the median is kept.

    python -m bench.hostile                       # about 3 minutes on 2 loaded cores (before is slow)
    python -m bench.hostile --words 1000 4000 --repeats 1      # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.report import ROOT, markdown_table, ratio
from huggingface_ner.bio import Span
from huggingface_ner.propagation import AnnotatedText, EntityDictionary, Propagator

WORDS = (4_000, 16_000, 32_000)
REPEATS = 3
SHARED_NAMES = 2_000
OUT = ROOT / "docs" / "results" / "hostile.json"


# -- before: the quadratic code this replaced (baseline only, never used by the product) ---------

_TOKEN = re.compile(r"\w+|[^\w\s]")


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


class QuadraticIndex:
    """BASELINE (old ``SurfaceIndex``): surfaces grouped by first token, each tried in turn."""

    def __init__(self, surfaces: Iterable[str]) -> None:
        self._by_first: dict[str, list[str]] = {}
        for surface in surfaces:
            match = _TOKEN.search(surface)
            if match is not None and surface.startswith(match.group(0)):
                self._by_first.setdefault(match.group(0), []).append(surface)
        for group in self._by_first.values():
            group.sort(key=len, reverse=True)

    def find(self, text: str) -> Iterator[tuple[int, str]]:
        """Every whole-word, same-case occurrence: O(words x surfaces sharing a first word)."""
        for token in _TOKEN.finditer(text):
            start = token.start()
            for surface in self._by_first.get(token.group(0), ()):
                end = start + len(surface)
                if not text.startswith(surface, start):
                    continue
                if end < len(text) and _is_word_char(text[end]) and _is_word_char(surface[-1]):
                    continue
                yield start, surface


def quadratic_spans(entries: Sequence[tuple[str, str, float]], text: str) -> list[Span]:
    """BASELINE (old ``Propagator.spans``, no model spans): each candidate against every region kept."""
    known = {surface: (label, precision) for surface, label, precision in entries}
    busy: list[tuple[int, int]] = []
    candidates = sorted(QuadraticIndex(known).find(text), key=lambda found: (-len(found[1]), found[0]))
    spans = []
    for start, surface in candidates:
        end = start + len(surface)
        if any(start < b_end and b_start < end for b_start, b_end in busy):
            continue
        busy.append((start, end))
        spans.append(Span(start, end, *known[surface]))
    return sorted(spans, key=lambda span: span.start)


def quadratic_unmarked(surfaces: Iterable[str], items: Sequence[AnnotatedText]) -> Counter[str]:
    """BASELINE (old half of ``EntityDictionary.build``): occurrences outside every marked span."""
    index, unmarked = QuadraticIndex(surfaces), Counter[str]()
    for item in items:
        for start, surface in index.find(item.text):
            end = start + len(surface)
            if not any(start < span.end and span.start < end for span in item.spans):
                unmarked[surface] += 1
    return unmarked


# -- the cases ----------------------------------------------------------------------------------

#: A case at one size: ``(before, after)``, each a call returning a comparable answer.
Pair = tuple[Callable[[], object], Callable[[], object]]


def every_word_known(words: int) -> Pair:
    """The issue's case: ``a`` annotated as PER once, then ``"a " * words`` predicted."""
    dictionary = EntityDictionary.build([AnnotatedText("a met b .", (Span(0, 1, "PER"),))])
    entries, text = dictionary.entries(), "a " * words
    propagator = Propagator(entries)
    return (lambda: quadratic_spans(entries, text)), (lambda: propagator.spans(text))


def one_big_annotation(words: int) -> Pair:
    """One annotated text of ``words`` words, every other ``a`` marked: the dictionary's build."""
    text = "a " * words
    item = AnnotatedText(text, tuple(Span(start, start + 1, "PER") for start in range(0, len(text), 4)))
    return (lambda: quadratic_unmarked(["a"], [item])), (lambda: EntityDictionary.build([item]).unmarked)


def shared_first_word(words: int) -> Pair:
    """``SHARED_NAMES`` names ``a 0``, ``a 1``, ... and a text of ``a`` that holds none of them."""
    entries = [(f"a {number}", "PER", 1.0) for number in range(SHARED_NAMES)]
    text, propagator = "a " * words, Propagator(entries)
    return (lambda: quadratic_spans(entries, text)), (lambda: propagator.spans(text))


CASES: dict[str, Callable[[int], Pair]] = {
    "every word known": every_word_known,
    "one big annotation": one_big_annotation,
    f"{SHARED_NAMES:,} names, one first word": shared_first_word,
}


# -- measuring ----------------------------------------------------------------------------------


def timed(call: Callable[[], object]) -> tuple[float, object]:
    """Seconds one call took, and its answer."""
    began = time.perf_counter()
    answer = call()
    return time.perf_counter() - began, answer


def run_pair(pair: Pair, before_first: bool) -> dict[str, float]:
    """Seconds of before and of after, back to back; fails if their answers differ."""
    order = [("before", pair[0]), ("after", pair[1])]
    seconds, answers = {}, {}
    for name, call in order if before_first else reversed(order):
        seconds[name], answers[name] = timed(call)
    if answers["before"] != answers["after"]:
        raise AssertionError("before and after give different answers")
    return seconds


def measure(words: Sequence[int], repeats: int) -> dict[str, dict[str, dict[str, list[float]]]]:
    """``{case: {words: {"before": [s, ...], "after": [s, ...]}}}``, runs interleaved.

    Each round visits every case and size, before and after back to back, flipping which goes
    first every round, so that a slow spell of the machine falls on both alike.
    """
    times: dict[str, dict[str, dict[str, list[float]]]] = {}
    for round_ in range(repeats):
        for case, make in CASES.items():
            for size in words:
                seconds = run_pair(make(size), before_first=round_ % 2 == 0)
                for name, value in seconds.items():
                    times.setdefault(case, {}).setdefault(str(size), {}).setdefault(name, []).append(value)
                print(f"round {round_ + 1}, {case}, {size} words:", seconds, flush=True)
    return times


def report(times: dict[str, dict[str, dict[str, list[float]]]]) -> str:
    """The markdown table: medians before and after, the speed-up, and after's growth with size."""
    rows = []
    for case, sizes in times.items():
        smallest = statistics.median(next(iter(sizes.values()))["after"])
        for size, runs in sizes.items():
            before, after = statistics.median(runs["before"]), statistics.median(runs["after"])
            rows.append([case, f"{int(size):,}", f"{before:.3f}", f"{after:.4f}", ratio(before, after),
                         ratio(after, smallest)])  # fmt: skip
    header = ["case", "words", "before (s)", "after (s)", "speed-up", "after / after at the fewest words"]
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=list(WORDS))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--out", type=Path, default=OUT, help="where the raw seconds go (JSON)")
    args = parser.parse_args()
    times = measure(args.words, args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {"words": args.words, "repeats": args.repeats, "seconds": times}
    args.out.write_text(json.dumps(payload, indent=2, sort_keys=True))
    print(report(times), f"\nraw: {args.out}", sep="\n")


if __name__ == "__main__":
    main()
