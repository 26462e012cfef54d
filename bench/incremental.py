"""The training after a few more annotations: warm-started (incremental) against a full re-train.

A project is trained on N labeled tasks with the product's defaults (its served version, set up
outside the timing). Then K more tasks are labeled and the next training runs twice from that same
state (a copy of the model folder each): ``fit("ANNOTATION_CREATED")``, which warm-starts from the
served version on the K new tasks plus a replay sample, and ``fit("START_TRAINING")``, the full
re-train from the base model on all N + K. Both are timed whole, as a user waits for them: the
forward evaluation of the served version, training, saving, building and checking the int8
model, publishing. Both published versions are then scored on the same held-out set (fp32 torch
and int8 ONNX Runtime), through the product's own inference path.

* BBC News: N = 1,000, K = 10 articles (their first 64 words), macro-F1 on the 300 held-out
  articles of the learning curves;
* CoNLL-2003: N = 2,000, K = 20 training sentences, entity F1 on 1,000 sentences of its test file.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.fit_project import fit_project, project_model
from bench.learning_curves import bbc_data, conll_data
from bench.predict_quality import scores_by_backend
from bench.report import markdown_table, ratio
from hf_text.settings import HFSettings
from tests.support import bbc_news, ner_conll

#: What triggers each of the two trainings measured.
RUNS = {"incremental": "ANNOTATION_CREATED", "full": "START_TRAINING"}


@dataclass(frozen=True)
class Case:
    """A project's N labeled tasks, the K labeled next, and the held-out tasks scored."""

    name: str
    model_class: Callable[[], type]
    label_config: str
    labeled: list[dict[str, Any]]
    added: list[dict[str, Any]]
    held_out: list[dict[str, Any]]


def bbc_case(labeled: int, added: int, seed: int) -> Case:
    """BBC News tasks drawn from the learning curves' training pool, as balanced as possible."""
    from bert_classifier.model import BertClassifier

    pool, test = bbc_data()
    rng = random.Random(seed)
    pairs = [(text, label) for label, texts in pool.items() for text in texts]
    rng.shuffle(pairs)
    tasks = [bbc_news.to_task(text, label, i) for i, (text, label) in enumerate(pairs[: labeled + added])]
    held_out = [bbc_news.to_task(text, label, 100_000 + i) for i, (text, label) in enumerate(test)]
    return Case("BBC News", lambda: BertClassifier, bbc_news.LABEL_CONFIG, tasks[:labeled], tasks[labeled:],
                held_out)  # fmt: skip


def conll_case(labeled: int, added: int, seed: int) -> Case:
    """CoNLL-2003 training sentences (seeded order) and its fixed held-out test sentences."""
    from huggingface_ner import HuggingFaceNER

    train, test = conll_data()
    random.Random(seed).shuffle(train)
    tasks = [ner_conll.to_task(sentence, i) for i, sentence in enumerate(train[: labeled + added])]
    held_out = [ner_conll.to_task(sentence, 100_000 + i) for i, sentence in enumerate(test)]
    return Case("CoNLL-2003", lambda: HuggingFaceNER, ner_conll.LABEL_CONFIG, tasks[:labeled],
                tasks[labeled:], held_out)  # fmt: skip


def _timed_fit(
    case: Case, settings: HFSettings, model_dir: Path, event: str, tasks: list[dict[str, Any]]
) -> dict[str, Any]:
    model = project_model(case.model_class(), case.label_config, settings, model_dir)
    model.labeled_tasks = lambda: tasks
    started = time.monotonic()
    summary = model.fit(event, {})
    seconds = time.monotonic() - started
    return {
        "seconds": round(seconds, 2),
        "training": summary["training"],
        "steps": summary["steps"],
        "train_seconds": summary["train_seconds"],
        "int8_check": {
            key: summary["quantization"].get(key) for key in ("serves", "fp32", "int8", "seconds")
        },
        "evaluation_seconds": summary["evaluation"].get("seconds", 0.0),
    }


def run_case(case: Case, settings: HFSettings, chain: int = 1) -> dict[str, Any]:
    """The served version on ``case.labeled``, then both next trainings from copies of that state.

    With ``chain`` > 1 the added tasks arrive in ``chain`` equal parts, each followed by a warm start
    from the version the previous one published (what a project does between two full re-trains);
    the full re-train runs once, on everything. ``FULL_RETRAIN_EVERY`` is raised so that the whole
    chain warm-starts.
    """
    settings = replace(settings, full_retrain_every=max(settings.full_retrain_every, 10, chain + 1))
    results: dict[str, Any] = {"labeled": len(case.labeled), "added": len(case.added), "chain": chain}
    step = len(case.added) // chain
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as root:
        served = Path(root) / "served"
        started = time.monotonic()
        fit_project(case.model_class(), case.label_config, settings, case.labeled, served)
        results["served_seconds"] = round(time.monotonic() - started, 2)
        # The version both trainings start from, on the same held-out set: how far a full
        # re-train on N + K moves from it tells the gap due to K from the seed noise of trainings.
        results["served_held_out"] = scores_by_backend(case.model_class(), case.label_config,
                                                       case.held_out, served, settings)  # fmt: skip
        for name, event in RUNS.items():
            folder = Path(root) / name
            shutil.copytree(served, folder)
            parts = range(1, chain + 1) if name == "incremental" else [chain]
            runs = [_timed_fit(case, settings, folder, event, case.labeled + case.added[: part * step])
                    for part in parts]  # fmt: skip
            run = {**runs[-1], "seconds": round(sum(r["seconds"] for r in runs) / len(runs), 2)}
            if len(runs) > 1:
                run["chain"] = runs
            run["held_out"] = scores_by_backend(case.model_class(), case.label_config, case.held_out,
                                                folder, settings)  # fmt: skip
            results[name] = run
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    """One row per case: both trainings' time and held-out metric, and their ratio / difference.

    The served version's held-out metric (trained on N only) comes first: the scale of the gap.
    """
    rows = []
    for name, result in results.items():
        inc, full = result["incremental"], result["full"]
        metric = inc["held_out"]["metric"]
        served = result.get("served_held_out", {}).get("torch")
        rows.append([
            f"{name} ({result['labeled']:,} + {_added(result)})",
            f"{full['seconds']:.0f} s ({full['steps']} steps)",
            f"{inc['seconds']:.0f} s ({inc['steps']} steps)",
            f"**{100 * inc['seconds'] / full['seconds']:.0f}%** ({ratio(full['seconds'], inc['seconds'])})",
            "-" if served is None else f"{metric} {served:.4f}",
            f"{metric} {full['held_out']['torch']:.4f} / {full['held_out']['onnx-int8']:.4f}",
            f"{metric} {inc['held_out']['torch']:.4f} / {inc['held_out']['onnx-int8']:.4f}",
            f"{100 * (inc['held_out']['torch'] - full['held_out']['torch']):+.2f} points",
            "-" if served is None else f"{100 * (inc['held_out']['torch'] - served):+.2f} points",
        ])  # fmt: skip
    header = ["project", "full re-train", "incremental", "incremental / full time (speed-up)",
              "held-out served on N (fp32)", "held-out full (fp32 / int8)",
              "held-out incremental (fp32 / int8)",
              "incremental - full (fp32)", "incremental - served (fp32)"]  # fmt: skip
    return markdown_table(header, rows)


def _added(result: dict[str, Any]) -> str:
    chain = int(result.get("chain", 1))
    return str(result["added"]) if chain == 1 else f"{chain} x {result['added'] // chain}"
