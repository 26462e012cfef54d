"""Learning curves of the instant layers, beside fine-tuning, through the backends' own code paths.

* BBC News, ``instant``: a fresh project first predicts its 300 held-out articles (as Label Studio
  asks predictions for the tasks it shows: the instant head refines zero-shot on their embeddings),
  then each labeled article is predicted (the annotator opens it) and learned from one
  ``ANNOTATION_CREATED`` event (``learn_instantly``: the webhook's background path); the held-out
  articles are scored with whatever it serves then; 0 labels is zero-shot. ``instant-no-texts`` in
  the results: the same before project texts were used. The labeled articles are the learning
  curves' own samples (``bench.learning_curves.bbc_sample``), so the lines compare on the same data.
* CoNLL-2003: one fine-tune per (size, seed) on the learning curves' sample, then the held-out
  sentences predicted by the fine-tuned model alone (``product``), by propagation alone
  (``propagation``: the span dictionary before any training) and by both combined, model first
  (``combined``) or dictionary first (``dictionary-first``).
* BBC News, labeling order (``--order``): a pool of unlabeled articles annotated one at a time,
  either least confident first (the order Label Studio's "sort by prediction score" gives) or in
  random order; macro-F1 of the instant layer on the held-out articles after each label.

* BBC News, first annotations (``--first``): a fresh project annotated one article per topic in
  turn (topics and articles in a seeded random order), macro-F1 on the held-out articles after each
  of the first ``FIRST_STEPS`` annotations: does every annotation help?

Runs go to the learning curves' results file; ``python -m bench.learning_curves --plot`` draws them,
``python -m bench.instant_curves --plot`` the labeling-order curve (``docs/uncertainty_first.*``).

    python -m bench.instant_curves --task bbc         # about 5 minutes
    python -m bench.instant_curves --task conll       # about 40 minutes (12 fine-tunes)
    python -m bench.instant_curves --order            # about 10 minutes
    python -m bench.instant_curves --first --seeds 10 # about 5 minutes
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import learning_curves as curves
from bench.fit_project import fit_project
from bench.instant_reports import FIRST_STEPS, ORDER_CHECKPOINTS, first_report, order_report
from bert_classifier.metrics import classification_metrics
from hf_text.instant.learning import InstantLearner
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.model import MODEL_VERSION_KEY
from tests.support import bbc_news, ner_conll

BBC_SIZES = (0, 5, 10, 20, 50, 100)
CONLL_SIZES = (5, 10, 20, 50)
ORDER_POOL = 500


def event_for(task: dict[str, Any]) -> dict[str, Any]:
    """The ``ANNOTATION_CREATED`` webhook body Label Studio sends for a labeled task."""
    annotation = {**task["annotations"][0], "task": task["id"]}
    return {"task": {"id": task["id"], "data": task["data"]}, "annotation": annotation}


def fresh(model_class: type, config: str, folder: Path, settings: HFSettings | None = None) -> Any:
    """A new project's model instance under ``folder``."""
    context = BackendContext.for_model(model_class, Settings(model_dir=folder))
    hf = settings or HFSettings()
    return model_class(project_id="1", label_config=config, context=context, hf_settings=hf)


#: Held-out articles are tasks of the project too, numbered apart from the annotated ones.
HELD_OUT_IDS = 100_000


def bbc_macro_f1(model: Any, test: list[tuple[str, str]]) -> float:
    """Macro-F1 of what ``model`` serves now on ``test``."""
    tasks = [{"id": HELD_OUT_IDS + i, "data": {"text": text}} for i, (text, _) in enumerate(test)]
    items = model.predict(tasks).serialize()
    predicted = [frozenset(item["result"][0]["value"]["choices"]) if item["result"] else frozenset()
                 for item in items]  # fmt: skip
    truth = [frozenset({label}) for _, label in test]
    return float(classification_metrics(truth, predicted, list(bbc_news.LABELS))["macro_f1"])


def open_tasks(model: Any, tasks: list[dict[str, Any]]) -> None:
    """Predict ``tasks`` as Label Studio does when the annotator opens them (before annotating)."""
    if tasks:
        model.predict([{"id": task["id"], "data": task["data"]} for task in tasks])


def bbc_instant(size: int, seed: int, data: Any) -> float:
    """Learn ``size`` sampled articles one event at a time, then score the held-out articles."""
    from bert_classifier.model import BertClassifier

    pool, test = data
    tasks = curves.bbc_sample(pool, size, seed) if size else []
    with tempfile.TemporaryDirectory(prefix="bench-instant-") as folder:
        model = fresh(BertClassifier, bbc_news.LABEL_CONFIG, Path(folder))
        model.labeled_tasks = lambda: []  # Label Studio holds nothing before the first event
        bbc_macro_f1(model, test)  # the project's tasks predicted before they are annotated
        for task in tasks:
            open_tasks(model, [task])
            model.learn_instantly("ANNOTATION_CREATED", event_for(task))
        return bbc_macro_f1(model, test)


def conll_lines(size: int, seed: int, data: Any) -> dict[str, float]:
    """One fine-tune on ``size`` sentences; entity F1 of each way of serving it."""
    from huggingface_ner import HuggingFaceNER
    from huggingface_ner import instant as ner_instant

    train, test = data
    sample = random.Random(seed).sample(train, size)
    tasks = [ner_conll.to_task(sentence, index) for index, sentence in enumerate(sample)]
    gold_and_text = [ner_conll.sentence_spans(sentence) for sentence in test]
    gold = [set(spans) for _, spans in gold_and_text]
    texts = [{"id": i, "data": {"text": text}} for i, (text, _) in enumerate(gold_and_text)]

    def score(model: Any) -> float:
        items = model.predict(texts).serialize()
        found = [{(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in item["result"]}
                 for item in items]  # fmt: skip
        return ner_conll.entity_f1(gold, found)

    with tempfile.TemporaryDirectory(prefix="bench-ner-") as folder:
        model = fresh(HuggingFaceNER, ner_conll.LABEL_CONFIG, Path(folder), HFSettings(seed=seed))
        model.labeled_tasks = lambda: tasks
        InstantLearner(model, model.task, model.instant_layer()).resync(model.controls())
        InstantLearner(model, model.task, model.instant_layer()).refit(model.controls())
        results = {"propagation": score(model)}
        config = ner_conll.LABEL_CONFIG
        model, _ = fit_project(HuggingFaceNER, config, HFSettings(seed=seed), tasks, Path(folder))
        results["combined"] = score(model)
        combined_version = model.model_version
        fine = model.store.latest()
        model.context.state.set("1", MODEL_VERSION_KEY, fine)
        results["product"] = score(model)
        model.context.state.set("1", MODEL_VERSION_KEY, combined_version)
        default = ner_instant.COMBINATION
        ner_instant.COMBINATION = "dictionary-first"
        try:
            results["dictionary-first"] = score(model)
        finally:
            ner_instant.COMBINATION = default
    return results


def order_curve(order: str, seed: int, data: Any) -> dict[int, float]:
    """Annotate a pool least-confident-first or at random; macro-F1 at each checkpoint."""
    from bert_classifier.model import BertClassifier

    pool, test = data
    rng = random.Random(seed)
    per_label = ORDER_POOL // len(pool)
    candidates = [(text, label) for label, texts in pool.items() for text in rng.sample(texts, per_label)]
    rng.shuffle(candidates)
    tasks = [bbc_news.to_task(text, label, index) for index, (text, label) in enumerate(candidates)]
    curve: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-order-") as folder:
        model = fresh(BertClassifier, bbc_news.LABEL_CONFIG, Path(folder))
        model.labeled_tasks = lambda: []
        bbc_macro_f1(model, test)  # the project's tasks predicted before they are annotated
        unlabeled = list(range(len(tasks)))
        for step in range(1, max(ORDER_CHECKPOINTS) + 1):
            if order == "uncertainty":
                items = model.predict([{"id": i, "data": tasks[i]["data"]} for i in unlabeled]).serialize()
                pick = unlabeled[min(range(len(unlabeled)), key=lambda k: items[k]["score"])]
            else:
                pick = unlabeled[rng.randrange(len(unlabeled))]
                open_tasks(model, [tasks[pick]])
            unlabeled.remove(pick)
            model.learn_instantly("ANNOTATION_CREATED", event_for(tasks[pick]))
            if step in ORDER_CHECKPOINTS:
                curve[step] = bbc_macro_f1(model, test)
    return curve


def first_curve(seed: int, data: Any) -> dict[int, float]:
    """Macro-F1 after each of the first ``FIRST_STEPS`` annotations (0: zero-shot), one topic at a time."""
    from bert_classifier.model import BertClassifier

    pool, test = data
    rng = random.Random(seed)
    topics = rng.sample(sorted(pool), len(pool))
    picks = {topic: rng.sample(pool[topic], FIRST_STEPS) for topic in topics}
    order = [(picks[topic][n], topic) for n in range(FIRST_STEPS) for topic in topics][:FIRST_STEPS]
    with tempfile.TemporaryDirectory(prefix="bench-first-") as folder:
        model = fresh(BertClassifier, bbc_news.LABEL_CONFIG, Path(folder))
        model.labeled_tasks = lambda: []
        curve = {0: bbc_macro_f1(model, test)}
        for step, (text, label) in enumerate(order, start=1):
            task = bbc_news.to_task(text, label, step)
            open_tasks(model, [task])
            model.learn_instantly("ANNOTATION_CREATED", event_for(task))
            curve[step] = bbc_macro_f1(model, test)
    return curve


def run(task: str, seeds: list[int], order: bool, first: bool = False) -> None:
    """Run whatever is not in the results file yet."""
    done = {(r["task"], r["line"], r["size"], r["seed"]) for r in curves.load_runs()}

    def keep(task_name: str, line: str, size: int, seed: int, score: float, seconds: float) -> None:
        print(f"{task_name} {line} n={size} seed={seed}: {score:.4f} ({seconds:.0f} s)", flush=True)
        curves.record({"task": task_name, "line": line, "size": size, "seed": seed, "score": round(score, 4),
                       "seconds": round(seconds, 1), "settings": {}})  # fmt: skip

    if first:
        data = curves.bbc_data()
        for seed in seeds:
            if ("bbc-first", "instant", FIRST_STEPS, seed) not in done:
                started = time.monotonic()
                for size, score in first_curve(seed, data).items():
                    keep("bbc-first", "instant", size, seed, score, time.monotonic() - started)
        return
    if order:
        data = curves.bbc_data()
        for line in ("uncertainty", "random"):
            for seed in seeds:
                if ("bbc-order", line, max(ORDER_CHECKPOINTS), seed) in done:
                    continue
                started = time.monotonic()
                for size, score in order_curve(line, seed, data).items():
                    keep("bbc-order", line, size, seed, score, time.monotonic() - started)
        return
    if task == "bbc":
        data = curves.bbc_data()
        for size in BBC_SIZES:
            for seed in seeds:
                if ("bbc", "instant", size, seed) not in done:
                    started = time.monotonic()
                    score = bbc_instant(size, seed, data)
                    keep("bbc", "instant", size, seed, score, time.monotonic() - started)
        return
    data = curves.conll_data()
    for size in CONLL_SIZES:
        for seed in seeds:
            if ("conll", "combined", size, seed) in done:
                continue
            started = time.monotonic()
            for line, score in conll_lines(size, seed, data).items():
                keep("conll", line, size, seed, score, time.monotonic() - started)


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=["bbc", "conll"], default="bbc")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--order", action="store_true", help="uncertainty-first against random order")
    parser.add_argument("--plot", action="store_true", help="only write docs/uncertainty_first.{md,png}")
    parser.add_argument("--first", action="store_true", help="macro-F1 after each of the first annotations")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seeds = list(range(1, options.seeds + 1))
    if not options.plot:
        run(options.task, seeds, options.order, options.first)
    if options.first:
        print(first_report(seeds))
    if options.order or options.plot:
        print(order_report(Path(__file__).resolve().parent.parent / "docs"))


if __name__ == "__main__":
    main()
