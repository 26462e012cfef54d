"""Multi-label classification: the backend's ``fit`` + ``predict`` against a plain BCE ``Trainer``.

Data: CoNLL-2003 English sentences, each labeled with the set of entity types it mentions
(``PER``, ``ORG``, ``LOC``, ``MISC``; a sentence with no entity has the empty set, as an annotator
who ticks nothing leaves it). Training sentences are drawn with the seed from CoNLL's train file
(distinct texts), the test set is the first distinct sentences of its test file, never trained on.

Both sides get the same hyper-parameters (the backend's defaults: lr 1e-4, 3 epochs, batch 16,
weight decay 0.01, 256 tokens, seed) and the same decision: a label applies when its sigmoid
probability is at least 0.5 (``MULTILABEL_THRESHOLD``).

* ``trainer``: ``AutoModelForSequenceClassification`` with ``problem_type="multi_label_classification"``
  (BCE) on every training sentence, HF ``Trainer``, dynamic padding; predictions from its logits.
* ``backend``: ``BertClassifier.fit`` on the same sentences as Label Studio tasks of a
  ``<Choices choice="multiple">`` config (an empty set is an annotation with no choice), then
  ``predict`` on the test sentences, through the production code path (``bench.fit_project``).

``--decompose`` adds the Trainer on what the backend used to learn from, to tell the parts of a
gap apart: ``trainer-80%`` (20% of each label set held out, as ``fit`` did before every annotation
trained the served model) and ``trainer-nonempty`` (sentences with no entity left out, as ``fit``
did before an annotation without any choice counted as "none of these").

Micro-F1 over (sentence, label) decisions is the headline; ``best-threshold micro-F1`` is the
same probabilities at the threshold (0.05 steps) that is best on the test set, an upper bound
that says how much the fixed 0.5 costs each side. Results go to ``bench/results/multilabel.json``.

    python -m bench.multilabel                         # 400 training sentences, 3 seeds (~6 min)
    python -m bench.multilabel --decompose             # plus the gap's parts (~12 min)
    python -m bench.multilabel --train 100 --seeds 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.fit_project import fit_project
from bench.report import markdown_table, mean_and_spread, save_json
from bert_classifier.metrics import classification_metrics
from hf_text.settings import HFSettings
from tests.support import ner_conll

LABELS = ner_conll.LABELS
LABEL_CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="types" toName="text" choice="multiple">'
    + "".join(f'<Choice value="{label}"/>' for label in LABELS)
    + "</Choices></View>"
)
TRAIN = 400
TEST = 1000
SEEDS = 3
THRESHOLD = 0.5
#: The backend's defaults, spelled out so that both sides read the same numbers.
HYPER = {
    "learning_rate": 1e-4,
    "num_train_epochs": 3.0,
    "batch_size": 16,
    "weight_decay": 0.01,
    "max_length": 256,
}

Example = tuple[str, frozenset[str]]


# -- data ----------------------------------------------------------------------------------------


def labeled_sentences(name: str) -> list[Example]:
    """Distinct sentences of a CoNLL file with the set of entity types each mentions, file order."""
    seen: set[str] = set()
    examples = []
    for sentence in ner_conll.read_conll(ner_conll.conll_dir() / f"{name}.txt"):
        text, spans = ner_conll.sentence_spans(sentence)
        if text not in seen:
            seen.add(text)
            examples.append((text, frozenset(label for *_, label in spans)))
    return examples


def to_task(text: str, labels: frozenset[str], task_id: int) -> dict[str, Any]:
    """A Label Studio task annotated with ``labels`` (no result at all when there is none)."""
    chosen = [label for label in LABELS if label in labels]
    result = [{"from_name": "types", "to_name": "text", "type": "choices", "value": {"choices": chosen}}]
    annotation = {"id": task_id, "result": result if chosen else [], "was_cancelled": False}
    return {"id": task_id, "data": {"text": text}, "annotations": [annotation]}


def held_out_share(examples: list[Example], seed: int, share: float = 0.2) -> list[Example]:
    """``examples`` less ``share`` of each label set (at least one of each set of two or more)."""
    rng = random.Random(seed)
    strata: dict[tuple[str, ...], list[int]] = {}
    for index, (_, labels) in enumerate(examples):
        strata.setdefault(tuple(sorted(labels)), []).append(index)
    dropped: set[int] = set()
    for members in strata.values():
        if len(members) > 1:
            dropped.update(rng.sample(members, max(1, round(len(members) * share))))
    return [example for index, example in enumerate(examples) if index not in dropped]


# -- the two sides -------------------------------------------------------------------------------


def multi_hot(labels: frozenset[str]) -> list[float]:
    """The label set as BCE targets, in ``LABELS`` order."""
    return [1.0 if label in labels else 0.0 for label in LABELS]


def run_trainer(train: list[Example], test_texts: list[str], seed: int) -> np.ndarray:
    """A plain BCE ``Trainer`` on ``train``; sigmoid probabilities of the test texts."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from hf_text.runtime.resolve import resolve_model_folder

    folder = str(resolve_model_folder(HFSettings().baseline_model_name))
    tokenizer = AutoTokenizer.from_pretrained(folder)

    def rows(texts: list[str], targets: list[list[float]] | None) -> list[dict[str, Any]]:
        encoded = tokenizer(texts, truncation=True, max_length=HYPER["max_length"])
        keys = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded]
        out = [{key: encoded[key][i] for key in keys} for i in range(len(texts))]
        if targets is not None:
            for row, target in zip(out, targets, strict=True):
                row["labels"] = target
        return out

    set_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=len(LABELS), problem_type="multi_label_classification"
    )
    with tempfile.TemporaryDirectory(prefix="bench-multilabel-") as scratch:
        arguments = TrainingArguments(
            output_dir=scratch, learning_rate=HYPER["learning_rate"],
            num_train_epochs=HYPER["num_train_epochs"], per_device_train_batch_size=HYPER["batch_size"],
            per_device_eval_batch_size=64,
            weight_decay=HYPER["weight_decay"], seed=seed, save_strategy="no", report_to="none",
            disable_tqdm=True,
        )  # fmt: skip
        trainer = Trainer(
            model=model,
            args=arguments,
            train_dataset=rows([t for t, _ in train], [multi_hot(labels) for _, labels in train]),
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        trainer.train()
        logits = trainer.predict(rows(test_texts, None)).predictions
    return torch.sigmoid(torch.from_numpy(np.asarray(logits, dtype=np.float32))).numpy()


def run_backend(train: list[Example], test_texts: list[str], seed: int) -> tuple[np.ndarray, list, dict]:
    """``BertClassifier.fit`` then ``predict``: (probabilities, predicted sets, fit summary)."""
    from bert_classifier.model import BertClassifier
    from hf_text.runtime.device import inference_dtype
    from hf_text.runtime.loader import load_for_inference

    settings = HFSettings(seed=seed, multilabel_threshold=THRESHOLD, **HYPER)
    tasks = [to_task(text, labels, index) for index, (text, labels) in enumerate(train)]
    with tempfile.TemporaryDirectory(prefix="bench-multilabel-") as folder:
        model, summary = fit_project(BertClassifier, LABEL_CONFIG, settings, tasks, Path(folder))
        items = model.predict([{"id": i, "data": {"text": t}} for i, t in enumerate(test_texts)]).serialize()
        head = model.trained_meta()["heads"][0]
        loaded = load_for_inference(
            model.store.root / model.model_version / head["dir"], model.TASK_KIND, model.device,
            inference_dtype(model.device),
        )  # fmt: skip
        probabilities = model.task.probabilities(loaded, test_texts, head)
    predicted = [
        frozenset(item["result"][0]["value"]["choices"]) if item["result"] else frozenset() for item in items
    ]
    return probabilities, predicted, summary


# -- scoring -------------------------------------------------------------------------------------


def decide(probabilities: np.ndarray, threshold: float) -> list[frozenset[str]]:
    """The labels at or over ``threshold``, per text."""
    return [
        frozenset(label for label, p in zip(LABELS, row, strict=True) if p >= threshold)
        for row in probabilities
    ]


def scores(truth: list[frozenset[str]], predicted: list[frozenset[str]], probabilities: np.ndarray) -> dict:
    """Micro/macro-F1 and exact-match accuracy of ``predicted``, and the best-threshold micro-F1."""
    metrics = classification_metrics(truth, predicted, list(LABELS))
    sweep = {
        round(t, 2): classification_metrics(truth, decide(probabilities, t), list(LABELS))["micro_f1"]
        for t in np.arange(0.05, 0.96, 0.05)
    }
    best = max(sweep, key=lambda t: sweep[t])
    return {
        "micro_f1": metrics["micro_f1"], "macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"],
        "best_threshold": best, "best_threshold_micro_f1": sweep[best],
    }  # fmt: skip


SIDES = {
    "trainer": lambda train, seed: train,
    "trainer-80%": lambda train, seed: held_out_share(train, seed),
    "trainer-nonempty": lambda train, seed: [example for example in train if example[1]],
}


def run_seed(side: str, pool: list[Example], test: list[Example], size: int, seed: int) -> dict[str, Any]:
    """One side on ``size`` sentences drawn with ``seed``; its scores on ``test``."""
    train = random.Random(seed).sample(pool, size)
    texts, truth = [t for t, _ in test], [labels for _, labels in test]
    started = time.monotonic()
    extra: dict[str, Any] = {}
    if side == "backend":
        probabilities, predicted, summary = run_backend(train, texts, seed)
        extra = {"train_size": summary["train_size"], "skipped_tasks": summary.get("skipped_tasks")}
    else:
        examples = SIDES[side](train, seed)
        probabilities = run_trainer(examples, texts, seed)
        predicted = decide(probabilities, THRESHOLD)
        extra = {"train_size": len(examples)}
    run = {"side": side, "seed": seed, "seconds": round(time.monotonic() - started, 1), **extra}
    return {**run, **scores(truth, predicted, probabilities)}


def table(runs: list[dict[str, Any]], sides: list[str]) -> str:
    """Mean ± half-range over the seeds per side, and micro-F1 as a ratio of the plain Trainer's."""
    trainer = [r["micro_f1"] for r in runs if r["side"] == "trainer"]
    reference = mean_and_spread(trainer)[0] if trainer else float("nan")
    rows = []
    for side in sides:
        mine = [r for r in runs if r["side"] == side]

        def cell(key: str, runs_: list[dict[str, Any]] = mine) -> str:
            mean, spread = mean_and_spread([r[key] for r in runs_])
            return f"{mean:.3f} ± {spread:.3f}"

        micro = mean_and_spread([r["micro_f1"] for r in mine])[0]
        rows.append([side, f"{mean_and_spread([r['train_size'] for r in mine])[0]:.0f}", cell("micro_f1"),
                     f"{micro / reference:.3f}x" if reference else "n/a", cell("macro_f1"), cell("accuracy"),
                     cell("best_threshold_micro_f1")])  # fmt: skip
    header = ["side", "trained on", "micro-F1", "vs trainer", "macro-F1", "exact match"]
    header.append("best-threshold micro-F1")
    return markdown_table(header, rows)


def main() -> None:
    """Parse options, run every side and seed, save the runs, print the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=TRAIN, help="training sentences per run")
    parser.add_argument("--test", type=int, default=TEST, help="test sentences (CoNLL test file)")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="how many seeds (1, 2, 3, ...)")
    parser.add_argument("--decompose", action="store_true", help="add the Trainer on reduced data")
    parser.add_argument("--sides", nargs="+", choices=["backend", *SIDES], help="run only these sides")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pool, test = labeled_sentences("train"), labeled_sentences("test")[: options.test]
    sides = ["trainer", "backend"] + (["trainer-80%", "trainer-nonempty"] if options.decompose else [])
    sides = options.sides or sides
    runs = []
    for seed in range(1, options.seeds + 1):
        for side in sides:
            run = run_seed(side, pool, test, options.train, seed)
            print(f"{side} seed={seed}: micro-F1 {run['micro_f1']:.4f} ({run['seconds']:.0f} s)", flush=True)
            runs.append(run)
    markdown = table(runs, sides)
    save_json("multilabel", {"train": options.train, "test": len(test), "threshold": THRESHOLD,
                             "hyper_parameters": HYPER, "runs": runs, "table": markdown})  # fmt: skip
    print(f"\nCoNLL-2003 entity-type sets: {options.train} training sentences, {len(test)} test sentences, "
          f"{options.seeds} seed(s), threshold {THRESHOLD}\n")  # fmt: skip
    print(markdown)


if __name__ == "__main__":
    main()
