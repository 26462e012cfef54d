"""Which NER uncertainty makes a good active-learning order once a fine-tuned model serves (offline).

A pool-based simulation, no Label Studio: CoNLL-2003 as ``bench.active_learning`` draws it (a pool of
``--pool`` training sentences of 4 words or more, 20 held-out test sentences per entity type). Per
seed, 10 random pool sentences are labeled and the product's own ``fit`` (``HuggingFaceNER``, the
embedded MiniLM, ``START_TRAINING``: the product's trainer from the base model) trains on them; then
``--rounds`` rounds each add ``--step`` sentences chosen by a strategy and train again. The pool is
predicted as the product serves NER once a fine-tuned version exists: the version's word tags and
spans (``task.predict_spans``, its real probabilities), combined model-first with the span
dictionary of the labeled sentences (``Propagator.combine``, ``instant.COMBINATION``). Strategies,
lowest first:

* ``random``: a seeded random draw;
* ``mean``: the spans' mean score, or with no span the words' mean probability (``text_score`` until
  this benchmark);
* ``least-word``: the lowest probability of any word's tag, words inside a dictionary span that the
  model did not find counting as certain (1.0): ``huggingface_ner.bio.text_score`` since;
* ``least-span``: the lowest span score (dictionary spans 1.0), or with no span the mean word.

Held-out: exact-span entity F1 of the same combined prediction on the test sentences. Fast training
settings (``--steps`` optimizer steps, ``MAX_LENGTH`` 64, fp32 torch serving: no int8 export, no
evaluation of the previous version) keep a run within minutes on 2 CPU cores.

    python -m bench.ner_uncertainty --write      # about 6 minutes on 2 cores
    python -m bench.ner_uncertainty --seeds 1 --rounds 1 --strategies random least-word
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.active_learning_data import Dataset, conll
from bench.fit_project import fit_project
from bench.report import ROOT, markdown_table, save_json, write_generated
from hf_text.settings import HFSettings
from huggingface_ner import HuggingFaceNER
from huggingface_ner import instant as ner_instant
from huggingface_ner.bio import Span, WordTag, text_score
from huggingface_ner.propagation import AnnotatedText, EntityDictionary, Propagator
from tests.support import ner_conll

PAGE = ROOT / "docs" / "active_learning.md"
SOURCE = "bench.ner_uncertainty"

#: One text as served: the model's spans, the dictionary's spans added to them, the model's words.
Served = tuple[list[Span], list[Span], list[WordTag]]


def mean_score(model: list[Span], added: list[Span], words: list[WordTag]) -> float:
    """Today's ``text_score``: the served spans' mean score, or with none the words' mean."""
    spans = [*model, *added]
    if spans:
        return sum(span.score for span in spans) / len(spans)
    return sum(word.score for word in words) / len(words) if words else 0.0


def least_word(model: list[Span], added: list[Span], words: list[WordTag]) -> float:
    """The lowest word probability, a word inside a dictionary span counting as certain: the
    product's ``text_score`` since this benchmark chose it."""
    return text_score([*model, *added], words, certain=added)


def least_span(model: list[Span], added: list[Span], words: list[WordTag]) -> float:
    """The lowest model span score (dictionary spans: 1.0), or with no span the words' mean."""
    if model or added:
        return min([span.score for span in model] + [1.0] * len(added))
    return mean_score(model, added, words)


STRATEGIES: dict[str, Callable[[list[Span], list[Span], list[WordTag]], float] | None] = {
    "random": None, "mean": mean_score, "least-word": least_word, "least-span": least_span,
}  # fmt: skip


def labeled_task(data: Dataset, index: int) -> dict[str, Any]:
    """Pool sentence ``index`` as Label Studio lists a labeled task."""
    text, gold = data.pool[index]
    result = data.result(text, gold)
    annotation = {"id": index, "result": result, "was_cancelled": False, "ground_truth": False}
    return {"id": index, "data": {"text": text}, "annotations": [annotation]}


class Learner:
    """One project trained by the product's ``fit`` on a growing set of pool sentences."""

    def __init__(self, data: Dataset, settings: HFSettings, folder: Path) -> None:
        self.data, self.settings, self.folder = data, settings, folder
        self.labeled: list[int] = []
        self.model: Any = None

    def train(self, indexes: list[int]) -> None:
        """Label ``indexes`` too and fine-tune from the base model on everything labeled."""
        self.labeled += indexes
        tasks = [labeled_task(self.data, i) for i in self.labeled]
        config = ner_conll.LABEL_CONFIG
        self.model, _ = fit_project(HuggingFaceNER, config, self.settings, tasks, self.folder)

    def served(self, texts: list[str]) -> list[Served]:
        """Each text as the product serves it: fine-tuned spans and words, plus the dictionary's spans."""
        annotated = [AnnotatedText(self.data.pool[i][0], tuple(Span(s, e, label) for s, e, label
                                                                 in self.data.pool[i][1]))
                     for i in self.labeled]  # fmt: skip
        propagator = Propagator(EntityDictionary.build(annotated).entries())
        fine = self.model.store.latest()
        serving = self.model.serving_heads(fine)[0]
        loaded = self.model.load_serving(serving, fine)
        tagged = self.model.task.predict_spans(loaded, texts, serving.control, serving.head)
        served = []
        for text, (spans, words) in zip(texts, tagged, strict=True):
            combined = propagator.combine(text, spans, ner_instant.COMBINATION)
            served.append((spans, [span for span in combined if span not in spans], words))
        return served

    def held_out_f1(self) -> float:
        """Exact-span entity F1 of the combined prediction on the held-out sentences."""
        served = self.served([text for text, _ in self.data.held_out])
        found = [{(s.start, s.end, s.entity) for s in [*model, *added]} for model, added, _ in served]
        return ner_conll.entity_f1([set(gold) for _, gold in self.data.held_out], found)

    def choose(self, strategy: str, count: int, rng: random.Random) -> list[int]:
        """The ``count`` unlabeled pool sentences ``strategy`` puts first."""
        unlabeled = [i for i in range(len(self.data.pool)) if i not in set(self.labeled)]
        score = STRATEGIES[strategy]
        if score is None:
            return rng.sample(unlabeled, count)
        served = self.served([self.data.pool[i][0] for i in unlabeled])
        scores = {i: score(*one) for i, one in zip(unlabeled, served, strict=True)}
        return sorted(unlabeled, key=lambda i: (scores[i], i))[:count]


def run_seed(data: Dataset, seed: int, args: argparse.Namespace) -> dict[str, dict[int, float]]:
    """Held-out F1 per strategy at each label count of one seed (the first training is shared)."""
    settings = HFSettings(seed=seed, num_train_epochs=1.0, min_train_steps=args.steps, max_length=64,
                          inference_backend="torch", evaluation_max_examples=0, zero_shot="off")  # fmt: skip
    first = random.Random(seed).sample(range(len(data.pool)), args.initial)
    curves: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ner-unc-") as root:
        start = Learner(data, settings, Path(root) / "start")
        start.train(first)
        initial = start.held_out_f1()
        for strategy in args.strategies:
            learner = Learner(data, settings, Path(root) / strategy)
            learner.labeled, learner.model = list(start.labeled), start.model
            rng = random.Random(seed * 1000 + 7)
            curve = {len(learner.labeled): initial}
            for _ in range(args.rounds):
                learner.train(learner.choose(strategy, args.step, rng))
                curve[len(learner.labeled)] = learner.held_out_f1()
            shown = ", ".join(f"{count}: {f1:.3f}" for count, f1 in curve.items())
            print(f"seed {seed} {strategy}: {shown}", flush=True)
            curves[strategy] = curve
    return curves


def report(runs: dict[int, dict[str, dict[int, float]]], note: str) -> str:
    """Mean ± std of held-out F1 per strategy and label count over the seeds."""
    strategies = list(next(iter(runs.values())))
    counts = sorted(next(iter(next(iter(runs.values())).values())))
    rows = []
    for strategy in strategies:
        cells = []
        for count in counts:
            values = [runs[seed][strategy][count] for seed in runs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.fmean(values):.3f} ± {spread:.3f}")
        rows.append([strategy, *cells, len(runs)])
    header = ["order", *(f"{count} labels" for count in counts), "seeds"]
    return f"{note}\n\n{markdown_table(header, rows)}"


def main() -> None:
    """Parse options, run every seed, print (and with ``--write``, publish) the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=200)
    parser.add_argument("--initial", type=int, default=10, help="random sentences labeled first")
    parser.add_argument("--step", type=int, default=10, help="sentences added per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per fine-tune")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--write", action="store_true", help=f"write the table into {PAGE.name}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = conll(args.pool, 20)
    started = time.monotonic()
    runs = {seed: run_seed(data, seed, args) for seed in range(1, args.seeds + 1)}
    minutes = (time.monotonic() - started) / 60
    note = (f"Pool {len(data.pool)} CoNLL training sentences, {len(data.held_out)} held-out test sentences; "
            f"{args.initial} random labels, then {args.rounds} rounds of +{args.step} per order; each "
            f"fine-tune: the product's `fit` from the base MiniLM, {args.steps} optimizer steps, "
            f"`MAX_LENGTH` 64. Exact-span entity F1 (fine-tuned model + span dictionary, model first), "
            f"mean ± std over {args.seeds} seeds. {minutes:.1f} min on a shared 2-core CPU.")  # fmt: skip
    table = report(runs, note)
    save_json("ner_uncertainty", {"args": vars(args), "minutes": round(minutes, 1),
                                  "runs": {str(s): c for s, c in runs.items()}})  # fmt: skip
    if args.write:
        write_generated(PAGE, table, SOURCE)
    print(table)


if __name__ == "__main__":
    main()
