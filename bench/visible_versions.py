"""How stale Label Studio's stored predictions get against how many versions it shows
(``INSTANT_VERSION_EVERY``, ``hf_text.instant.visible_version``), through the classifier's own code paths.

A fresh BBC News project holds a pool of unlabeled articles and held-out articles, all predicted
once (zero-shot) as Label Studio stores them. 100 pool articles are annotated one at a time, in
random order or least confident first by the *stored* scores (Label Studio's "sort by prediction
score"). Each one is opened (``predict``) and learned from (``learn_instantly``, the webhook's
path). Label Studio re-predicts a task only when the version ``/setup`` returns changes, so the
stored predictions are refreshed then, and only then. After every annotation the stored decisions
on the held-out articles are compared with what the newest head (which answers every ``/predict``)
decides: the share that differ, and both macro-F1s.

    python -m bench.visible_versions                  # about 5 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import learning_curves as curves
from bench.instant_curves import event_for, fresh
from bench.report import markdown_table, mean_and_spread, save_json
from bert_classifier.metrics import classification_metrics
from hf_text.settings import HFSettings
from tests.support import bbc_news

ANNOTATIONS = 100
POOL_PER_LABEL = 40
TEST_PER_LABEL = 60
EVERY = (1, 5, 10, 20, 50, 100)
ORDERS = ("random", "uncertainty")


def decisions(model: Any, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``model`` answers for ``tasks`` now (``/predict``: the newest head)."""
    return model.predict([{"id": task["id"], "data": task["data"]} for task in tasks]).serialize()


def chosen(items: list[dict[str, Any]]) -> list[frozenset[str]]:
    return [frozenset(i["result"][0]["value"]["choices"]) if i["result"] else frozenset() for i in items]


def macro_f1(items: list[dict[str, Any]], truth: list[str]) -> float:
    gold = [frozenset({label}) for label in truth]
    return float(classification_metrics(gold, chosen(items), list(bbc_news.LABELS))["macro_f1"])


def tasks_of(pairs: list[tuple[str, str]], first_id: int) -> list[dict[str, Any]]:
    return [bbc_news.to_task(text, label, first_id + index) for index, (text, label) in enumerate(pairs)]


def trace(order: str, every: int, seed: int, data: Any) -> dict[str, Any]:
    """One labeling session; per annotation, the stored predictions against the newest head's."""
    from bert_classifier.model import BertClassifier

    pool, test = data
    rng = random.Random(seed)
    picked = [(text, label) for label, texts in pool.items() for text in rng.sample(texts, POOL_PER_LABEL)]
    held = [pair for label in bbc_news.LABELS for pair in [p for p in test if p[1] == label][:TEST_PER_LABEL]]
    unlabeled, held_out = tasks_of(picked, 1), tasks_of(held, 100_000)
    truth = [label for _, label in held]
    settings = replace(HFSettings(), instant_version_every=every)
    with tempfile.TemporaryDirectory(prefix="bench-visible-") as folder:
        model = fresh(BertClassifier, bbc_news.LABEL_CONFIG, Path(folder), settings)
        model.labeled_tasks = lambda: []
        stored = decisions(model, held_out + unlabeled)  # Label Studio asked for every task once
        scores = {task["id"]: item["score"] for task, item in zip(held_out + unlabeled, stored, strict=True)}
        stored_test, visible, shown = stored[: len(held_out)], model.model_version, {model.model_version}
        steps = []
        for _ in range(ANNOTATIONS):
            if order == "uncertainty":
                task = min(unlabeled, key=lambda t: scores[t["id"]])
            else:
                task = unlabeled[rng.randrange(len(unlabeled))]
            unlabeled.remove(task)
            decisions(model, [task])  # opened: Label Studio asks only if it holds nothing of this version
            model.learn_instantly("ANNOTATION_CREATED", event_for(task))
            if model.model_version != visible:  # a new version: Label Studio predicts the tasks again
                visible = model.model_version
                shown.add(visible)
                refreshed = decisions(model, held_out + unlabeled)
                everything = zip(held_out + unlabeled, refreshed, strict=True)
                scores.update({task["id"]: item["score"] for task, item in everything})
                stored_test = refreshed[: len(held_out)]
            newest = decisions(model, held_out)
            differ = sum(a != b for a, b in zip(chosen(stored_test), chosen(newest), strict=True))
            steps.append({"differ": differ / len(held_out), "stored_f1": macro_f1(stored_test, truth),
                          "newest_f1": macro_f1(newest, truth)})  # fmt: skip
    return {"versions": len(shown), "steps": steps}


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Means over runs: versions shown, stored decisions differing (mean, max), macro-F1 lost."""
    return {
        "versions": statistics.fmean(run["versions"] for run in runs),
        "differ_mean": statistics.fmean(statistics.fmean(s["differ"] for s in run["steps"]) for run in runs),
        "differ_max": max(max(s["differ"] for s in run["steps"]) for run in runs),
        "f1_lost_mean": statistics.fmean(
            statistics.fmean(s["newest_f1"] - s["stored_f1"] for s in run["steps"]) for run in runs
        ),
        "final_f1": mean_and_spread([run["steps"][-1]["newest_f1"] for run in runs])[0],
    }


def compact(results: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """What the raw file keeps: each setting's summary and, per run, its versions and the share of
    stored decisions unlike the newest head's after each annotation."""

    def run(steps: dict[str, Any]) -> dict[str, Any]:
        return {"versions": steps["versions"], "differ": [round(s["differ"], 4) for s in steps["steps"]]}

    return {
        order: {every: {"summary": summary(rs), "runs": [run(r) for r in rs]} for every, rs in per.items()}
        for order, per in results.items()
    }


def report(results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    rows = []
    for order, per_every in results.items():
        for every, runs in per_every.items():
            s = summary(runs)
            differ = f"{100 * s['differ_mean']:.1f}% (max {100 * s['differ_max']:.0f}%)"
            f1 = f"{s['f1_lost_mean']:+.4f}"
            rows.append([order, every, f"{s['versions']:.0f}", differ, f1, f"{s['final_f1']:.3f}"])
    header = ["order", "INSTANT_VERSION_EVERY", "versions shown", "stored decisions unlike the newest head's",
              "macro-F1 newest - stored", "macro-F1 after 100"]  # fmt: skip
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--every", type=int, nargs="+", default=list(EVERY))
    parser.add_argument("--orders", nargs="+", default=list(ORDERS), choices=ORDERS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = curves.bbc_data()
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for order in args.orders:
        for every in args.every:
            runs = [trace(order, every, seed, data) for seed in range(args.seeds)]
            results.setdefault(order, {})[str(every)] = runs
            print(order, every, summary(runs), flush=True)
    path = save_json("visible_versions", {"annotations": ANNOTATIONS, "results": compact(results)})
    print(report(results), f"\nraw: {path}", sep="\n")


if __name__ == "__main__":
    main()
