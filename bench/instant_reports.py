"""Reports of ``bench.instant_curves``' recorded runs: the first annotations, the labeling order.

Drawn by its ``--plot``:

    python -m bench.instant_curves --plot    # writes docs/uncertainty_first.{md,png}
"""

from __future__ import annotations

from pathlib import Path

from bench import learning_curves as curves
from bench.report import markdown_table, mean_and_spread, write_generated

#: The checkpoints of ``--order`` runs and the steps of ``--first`` runs (``bench.instant_curves``).
ORDER_CHECKPOINTS = (5, 10, 20, 30, 50, 75, 100)
FIRST_STEPS = 10


def first_report(seeds: list[int], line: str = "instant") -> str:
    """Mean macro-F1 after each annotation and how many single annotations lowered it."""
    runs = [
        r for r in curves.load_runs() if (r["task"], r["line"]) == ("bbc-first", line) and r["seed"] in seeds
    ]
    by_seed: dict[int, dict[int, float]] = {}
    for r in runs:
        by_seed.setdefault(r["seed"], {})[r["size"]] = r["score"]
    rows = []
    for step in range(FIRST_STEPS + 1):
        scores = [curve[step] for curve in by_seed.values() if step in curve]
        fell = sum(1 for curve in by_seed.values() if step and curve.get(step, 1) < curve.get(step - 1, 0))
        rows.append([step, f"{sum(scores) / max(len(scores), 1):.3f}", fell if step else "—", len(scores)])
    return markdown_table(["annotations", "mean macro-F1", "seeds where it fell", "seeds"], rows)


def order_report(docs: Path) -> str:
    """``docs/uncertainty_first.{md,png}``: macro-F1 by labels annotated, in each order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in curves.load_runs() if r["task"] == "bbc-order"]
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    rows = {size: [str(size)] for size in ORDER_CHECKPOINTS}
    for line, title in (("uncertainty", "least confident first (sort by score)"), ("random", "random order")):
        means = []
        for size in ORDER_CHECKPOINTS:
            scores = [r["score"] for r in runs if (r["line"], r["size"]) == (line, size)]
            mean, spread = mean_and_spread(scores) if scores else (float("nan"), 0.0)
            means.append(mean)
            rows[size].append(f"{mean:.3f} ± {spread:.3f} ({len(scores)})")
        axis.plot(ORDER_CHECKPOINTS, means, marker="o", label=title)
    axis.set_xlabel("labels annotated (pool of 500 BBC articles)")
    axis.set_ylabel("macro-F1 on 300 held-out articles")
    axis.set_title("Instant head: labeling order")
    axis.grid(True, alpha=0.3)
    axis.legend(loc="lower right")
    figure.tight_layout()
    docs.mkdir(parents=True, exist_ok=True)
    figure.savefig(docs / "uncertainty_first.png", dpi=110)
    header = ["labels annotated", "least confident first", "random order"]
    markdown = markdown_table(header, list(rows.values()))
    note = "Each cell: mean ± half the range over the seeds (number of seeds)."
    write_generated(docs / "uncertainty_first.md", f"{markdown}\n\n{note}", "bench.instant_curves")
    return markdown
