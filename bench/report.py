"""Small helpers every benchmark shares: percentiles, ratios and a markdown table printed last."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Where raw numbers go (kept out of git); tests point it elsewhere.
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half the range (max - min) / 2: the "±" of a few seeds."""
    if not values:
        raise ValueError("no values")
    return statistics.fmean(values), (max(values) - min(values)) / 2


def ratio(value: float, baseline: float) -> str:
    """``value / baseline`` as ``"3.2x"``."""
    return f"{value / baseline:.1f}x" if baseline else "n/a"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def save_json(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``<RESULTS>/<name>.json`` and return the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True))
    return path
