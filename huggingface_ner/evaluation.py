"""Entity-level precision, recall and F1 (seqeval) over word tag sequences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def entity_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Micro-averaged and per-label P/R/F1 of predicted entities against gold ones.

    An entity counts as right only when its type and both its boundaries match. Both inputs hold
    one BIO tag name per word, for the same words.
    """
    from seqeval.metrics import classification_report

    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted, strict=True)):
        raise ValueError("gold and predicted tag sequences differ in shape")
    has_entities = any(tag != "O" for sequence in (*gold, *predicted) for tag in sequence)
    if not has_entities:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "per_label": {}, "evaluated": len(gold)}
    report = classification_report(
        [list(g) for g in gold], [list(p) for p in predicted], output_dict=True, zero_division=0
    )
    micro = report.pop("micro avg")
    per_label = {
        label: {
            "precision": round(float(row["precision"]), 4),
            "recall": round(float(row["recall"]), 4),
            "f1": round(float(row["f1-score"]), 4),
            "support": int(row["support"]),
        }
        for label, row in report.items()
        if not label.endswith(" avg")
    }
    return {
        "precision": round(float(micro["precision"]), 4),
        "recall": round(float(micro["recall"]), 4),
        "f1": round(float(micro["f1-score"]), 4),
        "per_label": per_label,
        "evaluated": len(gold),
    }
