"""Training speed: one ``BertClassifier.fit`` against the public Label Studio example's training.

Both sides fine-tune the same baseline (the embedded MiniLM folder) on the same 1,000 labeled
BBC News tasks, shaped as Label Studio returns them; each article is cut to a seeded random length
between 16 and 256 words (mixed lengths, as annotators produce). One epoch each, in one process.

* ``baseline``: what a user of the public example gets. The (text, choice) pairs are read from the
  very same task dicts, the whole dataset is tokenized at once with
  ``tokenizer(texts, truncation=True, padding=True)`` (every row padded to the longest text, up to
  the model's 512 tokens), then HF ``Trainer`` with batch 8, fp32, lr 2e-5, weight decay 0.01, a
  fresh ``AutoModelForSequenceClassification`` (5 labels), no checkpoints and no reporting.
* ``product``: ``BertClassifier.fit("START_TRAINING", {})`` with ``labeled_tasks`` returning the
  tasks and default ``HFSettings`` (batch 16, ``MAX_LENGTH`` 256 with sliding windows, rows grouped
  by length, dynamic padding, mixed precision on CUDA). ``fit`` trains on every task, as the
  baseline does. It runs while the project serves a version trained on the first ``--served``
  tasks (default 800), so before training it scores that version on the tasks it never saw: 200,
  the most a training scores by default (``EVALUATION_MAX_EXAMPLES``). That version is set up
  beforehand with one optimizer step, outside the timing (its quality does not change the cost).

"training s" is the Trainer's construction plus ``train()`` on both sides; samples/s is tasks
divided by it. "whole s" adds what surrounds it: tokenizing and loading the model on both sides,
and for the product also the evaluation of the served version, saving and publishing ("eval s"
is that evaluation alone). The product trains on windows, so it may see more rows than tasks
(reported as "rows"). The last row says how many times faster the product is: samples/s
product/baseline, whole time baseline/product.
Results go to ``bench/results/train_speed.json`` (and ``incremental_training.json``).

The second part (``--part incremental``, ``bench.incremental``) measures what a project pays for
its next training: after N labeled tasks and K more, the warm-started training against a full
re-train from the same state, time and held-out quality (BBC News 1,000 + 10, CoNLL-2003 2,000 + 20).

    python -m bench.train_speed                                # both parts (2 CPU cores: ~30 min)
    python -m bench.train_speed --part trainer --tasks 40 --max-words 64      # a quick smoke run
    python -m bench.train_speed --part incremental --bbc 100 5 --conll 0 0    # a small incremental run
    python -m bench.train_speed --part incremental --chain 5    # 5 warm starts in a row, then compare
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from bench import incremental
from bench.fit_project import fit_project, project_model
from bench.report import markdown_table, ratio, save_json
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.settings import HFSettings
from tests.support import bbc_news

TASKS = 1000
EPOCHS = 1.0
MIN_WORDS = 16
MAX_WORDS = 256
SEED = 42
#: Tasks the served version was trained on: the fit scores it on the other 200.
SERVED = 800
#: The public example's hyper-parameters.
PUBLIC = {"learning_rate": 2e-5, "weight_decay": 0.01, "batch_size": 8}


# -- data ----------------------------------------------------------------------------------------


def unique_articles() -> dict[str, list[str]]:
    """Every BBC article per label, in file order, without the corpus's repeated articles."""
    folder = bbc_news.bbc_dir()
    seen: set[str] = set()
    articles: dict[str, list[str]] = {}
    for label in bbc_news.LABELS:
        articles[label] = []
        for path in sorted((folder / label).glob("*.txt")):
            text = bbc_news.read_article(path)
            if text not in seen:  # the product keeps one example per distinct text
                seen.add(text)
                articles[label].append(text)
    return articles


def sample_tasks(count: int, min_words: int, max_words: int, seed: int) -> list[dict[str, Any]]:
    """``count`` labeled tasks, as balanced over the topics as ``count`` allows, mixed lengths."""
    rng = random.Random(seed)
    articles = unique_articles()
    labels = list(bbc_news.LABELS)
    pairs = []
    for position, label in enumerate(labels):
        quota = count // len(labels) + (1 if position < count % len(labels) else 0)
        for text in rng.sample(articles[label], quota):
            pairs.append((bbc_news.first_words(text, rng.randint(min_words, max_words)), label))
    rng.shuffle(pairs)
    return [bbc_news.to_task(text, label, index) for index, (text, label) in enumerate(pairs)]


def texts_and_labels(tasks: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(text, choice) of each task, read as the public example reads them: first annotation's result."""
    texts, labels = [], []
    for task in tasks:
        texts.append(task["data"]["text"])
        labels.append(task["annotations"][0]["result"][0]["value"]["choices"][0])
    return texts, labels


# -- the two sides -------------------------------------------------------------------------------


def warm_up_device() -> str:
    """Initialise the device before any timing, so neither side pays for it; returns its name."""
    if torch.cuda.is_available():
        torch.ones(64, 64, device="cuda").matmul(torch.ones(64, 64, device="cuda")).sum().item()
        return torch.cuda.get_device_name(0)
    return f"cpu ({torch.get_num_threads()} threads)"


def _baseline_rows(tokenizer: Any, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    texts, labels = texts_and_labels(tasks)
    index = {label: position for position, label in enumerate(bbc_news.LABELS)}
    encoded = tokenizer(texts, truncation=True, padding=True)
    columns = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded]
    return [
        {**{key: encoded[key][row] for key in columns}, "labels": index[label]}
        for row, label in enumerate(labels)
    ]


def run_baseline(tasks: list[dict[str, Any]], epochs: float) -> dict[str, Any]:
    """The public example's training on ``tasks``; its timings, steps and loss."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    folder = str(resolve_model_folder(HFSettings().baseline_model_name))
    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = _baseline_rows(tokenizer, tasks)
    set_seed(SEED)  # the new head's initial weights, as on the product side
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=len(bbc_news.LABELS))
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as scratch:
        arguments = TrainingArguments(
            output_dir=scratch, learning_rate=PUBLIC["learning_rate"], weight_decay=PUBLIC["weight_decay"],
            per_device_train_batch_size=PUBLIC["batch_size"], num_train_epochs=epochs, seed=SEED,
            save_strategy="no", report_to="none", disable_tqdm=True,
        )  # fmt: skip
        training_started = time.monotonic()
        trainer = Trainer(model=model, args=arguments, train_dataset=rows, processing_class=tokenizer)
        output = trainer.train()
        ended = time.monotonic()
    return {
        "rows": len(rows),
        "padded_length": len(rows[0]["input_ids"]),
        "steps": int(output.global_step),
        "train_loss": round(float(output.training_loss), 5),
        "train_seconds": round(ended - training_started, 2),
        "whole_seconds": round(ended - started, 2),
    }


def run_product(tasks: list[dict[str, Any]], epochs: float, served: int) -> dict[str, Any]:
    """``BertClassifier.fit`` on all ``tasks`` while a version trained on the first ``served`` is served.

    The measured fit trains on every task and, before that, scores the served version on the
    tasks it never saw (at most ``EVALUATION_MAX_EXAMPLES``): the full cost of a training. The
    served version is only a starting point, trained for one optimizer step (an evaluation's
    cost does not depend on how well the version learned).
    """
    from bert_classifier.model import BertClassifier

    # Exactly --epochs like the baseline (no minimum step count).
    settings = HFSettings(num_train_epochs=epochs, min_train_steps=0)
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as folder:
        if served:
            one_step = replace(settings, num_train_epochs=1e-6)
            fit_project(BertClassifier, bbc_news.LABEL_CONFIG, one_step, tasks[:served], Path(folder))
        model = project_model(BertClassifier, bbc_news.LABEL_CONFIG, settings, Path(folder))
        model.labeled_tasks = lambda: tasks
        started = time.monotonic()
        summary = model.fit("START_TRAINING", {})
        ended = time.monotonic()
    if summary.get("train_size") != len(tasks):
        raise RuntimeError(f"the product did not train on all {len(tasks)} tasks: {summary}")
    expected_steps = math.ceil(math.ceil(summary["training_rows"] / settings.batch_size) * epochs)
    if summary["steps"] > expected_steps:
        raise RuntimeError(f"the product trained {summary['steps']} steps, more than {epochs:g} epoch(s)")
    evaluation = summary["evaluation"]
    return {
        "rows": summary["training_rows"],
        "steps": summary["steps"],
        "train_loss": summary["train_loss"],
        "train_seconds": summary["train_seconds"],
        "evaluated": evaluation["examples"],
        "evaluation_seconds": evaluation.get("seconds", 0.0),
        "whole_seconds": round(ended - started, 2),
    }


# -- report --------------------------------------------------------------------------------------


def table(results: dict[str, dict[str, Any]], tasks: int) -> str:
    """One row per side plus the product/baseline ratio row."""
    names = {"baseline": "baseline (public example)", "product": "product (BertClassifier.fit)"}
    rows = []
    for side, label in names.items():
        run = results[side]
        run["samples_per_s"] = round(tasks / run["train_seconds"], 2)
        evaluation = f"{run['evaluation_seconds']:.1f} ({run['evaluated']})" if "evaluated" in run else ""
        rows.append([label, run["rows"], run["steps"], f"{run['train_seconds']:.1f}",
                     f"{run['samples_per_s']:.1f}", evaluation, f"{run['whole_seconds']:.1f}"])  # fmt: skip
    base, product = results["baseline"], results["product"]
    # Both ratios read "times faster": samples/s product/baseline, whole time baseline/product.
    rows.append(["product / baseline", "", "", "", ratio(product["samples_per_s"], base["samples_per_s"]),
                 "", ratio(base["whole_seconds"], product["whole_seconds"])])  # fmt: skip
    header = ["side", "rows", "steps", "training s", "samples/s", "eval s (examples)", "whole s"]
    return markdown_table(header, rows)


def trainer_part(options: argparse.Namespace) -> dict[str, Any]:
    """The product's full training against the public example's ``Trainer``; prints its table."""
    tasks = sample_tasks(options.tasks, options.min_words, options.max_words, options.seed)
    device = warm_up_device()
    results = {
        "baseline": run_baseline(tasks, options.epochs),
        "product": run_product(tasks, options.epochs, options.served),
    }
    markdown = table(results, len(tasks))
    words = [len(task["data"]["text"].split()) for task in tasks]
    print(f"{len(tasks)} BBC tasks ({min(words)}-{max(words)} words), {options.epochs:g} epoch(s), {device}; "
          f"baseline rows padded to {results['baseline']['padded_length']} tokens\n")  # fmt: skip
    print(markdown)
    return {
        "device": device, "tasks": len(tasks), "epochs": options.epochs, "seed": options.seed,
        "served": options.served,
        "words": {"min": min(words), "mean": round(sum(words) / len(words), 1), "max": max(words)},
        "baseline_settings": PUBLIC, "results": results, "table": markdown,
    }  # fmt: skip


def incremental_part(options: argparse.Namespace) -> dict[str, Any]:
    """Warm-started against full trainings after a few more annotations; prints its table."""
    cases = []
    if options.bbc[0]:
        cases.append(incremental.bbc_case(options.bbc[0], options.bbc[1] * options.chain, seed=options.seed))
    if options.conll[0]:
        cases.append(incremental.conll_case(options.conll[0], options.conll[1] * options.chain,
                                            seed=options.seed))  # fmt: skip
    results: dict[str, Any] = {}
    for case in cases:  # saved after each case: an interrupted run keeps what it measured
        results[case.name] = incremental.run_case(case, HFSettings(), chain=options.chain)
        save_json("incremental_training", {"results": results})
    markdown = incremental.table(results)
    print(markdown)
    return {"results": results, "table": markdown, "load_average": os.getloadavg()}


def main() -> None:
    """Parse options, run the chosen parts, save the numbers, print the tables last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["trainer", "incremental", "all"], default="all")
    parser.add_argument("--tasks", type=int, default=TASKS, help="labeled tasks both sides train on")
    parser.add_argument("--epochs", type=float, default=EPOCHS)
    parser.add_argument("--min-words", type=int, default=MIN_WORDS, help="shortest article cut")
    parser.add_argument("--max-words", type=int, default=MAX_WORDS, help="longest article cut")
    parser.add_argument("--seed", type=int, default=SEED, help="picks the articles and their lengths")
    parser.add_argument("--served", type=int, default=SERVED,
                        help="tasks the version served before the fit was trained on (0: none)")  # fmt: skip
    parser.add_argument("--bbc", type=int, nargs=2, default=[1000, 10], metavar=("N", "K"),
                        help="incremental part: BBC tasks labeled, then added (0 0: skip)")  # fmt: skip
    parser.add_argument("--conll", type=int, nargs=2, default=[2000, 20], metavar=("N", "K"),
                        help="incremental part: CoNLL sentences labeled, then added (0 0: skip)")  # fmt: skip
    parser.add_argument("--chain", type=int, default=1,
                        help="incremental part: K added this many times, each time a warm start")  # fmt: skip
    options = parser.parse_args()
    if options.chain < 1:
        parser.error("need --chain >= 1")
    if not 0 < options.min_words <= options.max_words or options.tasks < len(bbc_news.LABELS):
        parser.error("need 0 < --min-words <= --max-words and at least one task per topic")
    if not 0 <= options.served < options.tasks:
        parser.error("need 0 <= --served < --tasks")
    logging.basicConfig(level=logging.WARNING)
    if options.part in ("trainer", "all"):
        save_json("train_speed", trainer_part(options))
    if options.part in ("incremental", "all"):
        save_json("incremental_training", incremental_part(options))


if __name__ == "__main__":
    main()
