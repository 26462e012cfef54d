"""Learning curves on real data through the product's own ``fit`` and ``predict`` code path.

BBC News (5 topics, macro-F1 on a fixed held-out set of 300 articles) and CoNLL-2003 (entity F1
on a fixed held-out set of CoNLL test sentences), at 50/100/200/500/1,000 labeled examples, three
seeds each (the seed picks the labeled sample and initialises the new head). Two lines:

* ``product``: the backends' default hyper-parameters (what a user gets with no configuration);
* ``public``: the public example's settings (lr 2e-5, 3 epochs, batch 8), same code path.

Only ``labeled_tasks`` is replaced (by Label Studio-shaped tasks); everything else is what the
server runs. (The published curves were measured when ``fit`` still held 20% of the examples out
for validation, so each size trained on 80% of its examples; ``fit`` now trains on all.) Runs are appended to
``bench/results/learning_curves.json`` as they finish, so an interrupted run resumes where it
stopped. ``--plot`` turns that file into ``docs/learning_curves.{md,png}``.

    python -m bench.learning_curves                 # everything (CPU: about 30 minutes)
    python -m bench.learning_curves --task bbc --sizes 200 --seeds 1 --lr 5e-5 1e-4
    python -m bench.learning_curves --plot
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.fit_project import fit_project
from bench.report import RESULTS, markdown_table, mean_and_spread, write_generated
from bert_classifier.metrics import classification_metrics
from hf_text.settings import HFSettings
from tests.support import bbc_news, ner_conll

SIZES = (50, 100, 200, 500, 1000)
SEEDS = (1, 2, 3)
#: BBC articles are cut to their first words: the headline and lead carry the topic, and full
#: articles (≈500 tokens, several windows each) would make 90 fits take hours on a CPU.
BBC_WORDS = 64
BBC_TEST_PER_LABEL = 60
CONLL_TEST_SENTENCES = 1000
PUBLIC = {"learning_rate": 2e-5, "num_train_epochs": 3.0, "batch_size": 8, "min_train_steps": 0}
LINES = {"product": {}, "public": PUBLIC}
TITLES = {
    "product": "this backend (defaults)",
    "public": "public example settings",
    "instant": "instant head, one webhook per label (0: zero-shot)",
    "instant-no-texts": "instant head without the project's texts (before they were used)",
    "propagation": "span propagation alone",
    "combined": "fine-tuned + propagation (model first)",
    "dictionary-first": "fine-tuned + propagation (dictionary first)",
}
#: Lines the report shows: these two, and the instant layers' (``bench.instant_curves``).
REPORTED = (*LINES, "instant", "instant-no-texts", "propagation", "combined", "dictionary-first")
RESULTS_FILE = RESULTS / "learning_curves.json"


# -- data ----------------------------------------------------------------------------------------


def bbc_data() -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Training pool per label, and the fixed held-out articles (the last of each label)."""
    folder = bbc_news.bbc_dir()
    pool, test = {}, []
    for label in bbc_news.LABELS:
        texts = [bbc_news.read_article(p, BBC_WORDS) for p in sorted((folder / label).glob("*.txt"))]
        held = texts[-BBC_TEST_PER_LABEL:]
        test += [(text, label) for text in held]
        seen = set(held)  # BBC News repeats a few articles: none of them may leak into training
        pool[label] = [text for text in texts[:-BBC_TEST_PER_LABEL] if text not in seen]
    return pool, test


def bbc_sample(pool: dict[str, list[str]], size: int, seed: int) -> list[dict[str, Any]]:
    """``size`` labeled tasks, the same number per topic, drawn with ``seed``."""
    rng = random.Random(seed)
    per_label = size // len(pool)
    pairs = [(text, label) for label, texts in pool.items() for text in rng.sample(texts, per_label)]
    rng.shuffle(pairs)
    return [bbc_news.to_task(text, label, index) for index, (text, label) in enumerate(pairs)]


def conll_data() -> tuple[list[ner_conll.Sentence], list[ner_conll.Sentence]]:
    """CoNLL-2003 training sentences, and the fixed held-out sentences from its test file."""
    folder = ner_conll.conll_dir()
    test = ner_conll.read_conll(folder / "test.txt")[:CONLL_TEST_SENTENCES]
    return ner_conll.read_conll(folder / "train.txt"), test


# -- one run -------------------------------------------------------------------------------------


def train_then_predict(
    model_class: type, config: str, settings: HFSettings, tasks: list[dict[str, Any]], texts: list[str]
) -> list[dict[str, Any]]:
    """``fit`` a fresh project on ``tasks`` (as if Label Studio listed them), then ``predict`` ``texts``."""
    with tempfile.TemporaryDirectory(prefix="bench-lc-") as folder:
        model, _ = fit_project(model_class, config, settings, tasks, Path(folder))
        response = model.predict([{"id": i, "data": {"text": text}} for i, text in enumerate(texts)])
    return response.serialize()


def bbc_run(settings: HFSettings, size: int, data: Any) -> float:
    """Train on ``size`` BBC articles and return the held-out macro-F1."""
    from bert_classifier.model import BertClassifier

    pool, test = data
    tasks = bbc_sample(pool, size, settings.seed)
    items = train_then_predict(BertClassifier, bbc_news.LABEL_CONFIG, settings, tasks, [t for t, _ in test])
    predicted = [
        frozenset(item["result"][0]["value"]["choices"]) if item["result"] else frozenset() for item in items
    ]
    truth = [frozenset({label}) for _, label in test]
    return float(classification_metrics(truth, predicted, list(bbc_news.LABELS))["macro_f1"])


def conll_run(settings: HFSettings, size: int, data: Any) -> float:
    """Train on ``size`` CoNLL sentences and return the held-out exact-match entity F1."""
    from huggingface_ner import HuggingFaceNER

    train, test = data
    sample = random.Random(settings.seed).sample(train, size)
    tasks = [ner_conll.to_task(sentence, index) for index, sentence in enumerate(sample)]
    gold_and_text = [ner_conll.sentence_spans(sentence) for sentence in test]
    texts = [text for text, _ in gold_and_text]
    items = train_then_predict(HuggingFaceNER, ner_conll.LABEL_CONFIG, settings, tasks, texts)
    predicted = [
        {(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in item["result"]}
        for item in items
    ]
    return ner_conll.entity_f1([set(spans) for _, spans in gold_and_text], predicted)


TASKS: dict[str, tuple[Callable[[], Any], Callable[[HFSettings, int, Any], float], str]] = {
    "bbc": (bbc_data, bbc_run, "BBC News macro-F1"),
    "conll": (conll_data, conll_run, "CoNLL-2003 entity F1"),
}


# -- the whole curve -----------------------------------------------------------------------------


def load_runs() -> list[dict[str, Any]]:
    """Every finished run recorded so far."""
    return json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else []


def record(run: dict[str, Any]) -> None:
    """Append one finished run to the results file."""
    runs = [*load_runs(), run]
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(runs, indent=1))


def run_grid(tasks: list[str], lines: dict[str, dict[str, Any]], sizes: list[int], seeds: list[int]) -> None:
    """Run every (task, line, size, seed) not yet in the results file."""
    done = {(r["task"], r["line"], r["size"], r["seed"]) for r in load_runs()}
    for task in tasks:
        load, run, _ = TASKS[task]
        data = load()
        for size in sizes:
            for line, overrides in lines.items():
                for seed in seeds:
                    if (task, line, size, seed) in done:
                        continue
                    settings = HFSettings(seed=seed, **overrides)
                    started = time.monotonic()
                    score = run(settings, size, data)
                    seconds = time.monotonic() - started
                    print(f"{task} {line} n={size} seed={seed}: {score:.4f} ({seconds:.0f} s)", flush=True)
                    record({"task": task, "line": line, "size": size, "seed": seed, "score": round(score, 4),
                            "seconds": round(seconds, 1), "settings": overrides})  # fmt: skip


def summary_rows(runs: list[dict[str, Any]], task: str) -> list[list[str]]:
    """One row per size: mean ± spread of each line, and the seeds behind it."""
    rows = []
    lines = sorted({r["line"] for r in runs if r["task"] == task})
    for size in sorted({r["size"] for r in runs if r["task"] == task}):
        row = [str(size)]
        for line in lines:
            scores = [r["score"] for r in runs if (r["task"], r["line"], r["size"]) == (task, line, size)]
            if not scores:
                row.append("-")  # this line was not measured at this size
                continue
            mean, spread = mean_and_spread(scores)
            row.append(f"{mean:.3f} ± {spread:.3f} ({len(scores)})")
        rows.append(row)
    return rows


def write_report(runs: list[dict[str, Any]], docs: Path) -> str:
    """``docs/learning_curves.md`` and ``.png`` from the recorded runs; returns the markdown."""
    parts = []
    for task, (_, _, title) in TASKS.items():
        lines = sorted({r["line"] for r in runs if r["task"] == task})
        if lines:
            header = ["labeled examples", *[TITLES.get(line, line) for line in lines]]
            parts.append(f"### {title}\n\n" + markdown_table(header, summary_rows(runs, task)))
    markdown = "\n\n".join(parts) + "\n\nEach cell: mean ± half the range over the seeds (number of seeds)."
    write_generated(docs / "learning_curves.md", markdown, "bench.learning_curves")
    plot(runs, docs / "learning_curves.png")
    return markdown


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Both tasks side by side: mean per size with the seeds' range shaded, one line per setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(TASKS), figsize=(12, 4.8))
    for axis, (task, (_, _, title)) in zip(axes, TASKS.items(), strict=True):
        for line in sorted({r["line"] for r in runs if r["task"] == task}):
            sizes = sorted({r["size"] for r in runs if (r["task"], r["line"]) == (task, line)})
            scores = [[r["score"] for r in runs if (r["task"], r["line"], r["size"]) == (task, line, s)]
                      for s in sizes]  # fmt: skip
            means = [sum(s) / len(s) for s in scores]
            color = f"C{list(TITLES).index(line) % 10}" if line in TITLES else None  # same line, same color
            axis.plot(sizes, means, marker="o", label=TITLES.get(line, line), color=color)
            low, high = [min(s) for s in scores], [max(s) for s in scores]
            axis.fill_between(sizes, low, high, alpha=0.2, color=color)
        sizes = sorted({r["size"] for r in runs if r["task"] == task})
        axis.set_xscale("symlog", linthresh=5)  # log scale that still shows 0 labels (zero-shot)
        axis.set_xticks(sizes, [str(size) for size in sizes])
        axis.minorticks_off()
        axis.set_xlabel("labeled examples (log scale above 5)")
        axis.set_title(title)
        axis.set_ylim(0, 1)
        axis.grid(True, alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    """Parse options, run what is missing, print the table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=[*TASKS, "all"], default="all")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="how many seeds (1, 2, 3, ...)")
    parser.add_argument("--lines", nargs="+", choices=list(LINES), default=list(LINES))
    parser.add_argument("--lr", type=float, nargs="+", help="a learning-rate sweep instead of the lines")
    parser.add_argument("--plot", action="store_true", help="only write docs/ from recorded runs")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not options.plot:
        tasks = list(TASKS) if options.task == "all" else [options.task]
        lines = (
            {f"lr={lr:g}": {"learning_rate": lr} for lr in options.lr}
            if options.lr
            else {name: LINES[name] for name in options.lines}
        )
        run_grid(tasks, lines, options.sizes, list(range(1, options.seeds + 1)))
    runs = [r for r in load_runs() if r["line"] in REPORTED and r["task"] in TASKS]
    print(write_report(runs, Path(__file__).resolve().parent.parent / "docs"))
    sweep = [r for r in load_runs() if r["line"] not in REPORTED]
    if sweep:
        rows = [[r["task"], r["line"], r["size"], r["seed"], r["score"], r["seconds"]] for r in sweep]
        print(markdown_table(["task", "setting", "size", "seed", "score", "seconds"], rows))


if __name__ == "__main__":
    main()
