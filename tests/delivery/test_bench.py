"""The benchmarks' own pieces: statistics, reports, and Label Studio bodies the backend accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import learning_curves
from bench.report import markdown_table, mean_and_spread, percentile, ratio
from bench.requests_ls import predict_body, project_key, setup_body, start_training_body
from label_studio_ml.api import create_app
from tests.conftest import load_keyword_model
from tests.support import bbc_news
from tests.support.servers import ROOT


def test_percentiles_interpolate_between_samples() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 95) == pytest.approx(4.8)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_mean_and_spread_and_ratio() -> None:
    assert mean_and_spread([0.8, 0.9, 0.85]) == pytest.approx((0.85, 0.05))
    assert ratio(30.0, 10.0) == "3.0x"
    assert ratio(1.0, 0.0) == "n/a"
    assert markdown_table(["a", "b"], [[1, 2]]).splitlines() == ["| a | b |", "|---|---|", "| 1 | 2 |"]


def test_learning_curve_report_has_a_row_per_size_and_a_plot(tmp_path: Path) -> None:
    runs = [
        {"task": "bbc", "line": line, "size": size, "seed": seed, "score": score + seed / 100}
        for line, score in (("product", 0.9), ("public", 0.3))
        for size in (50, 100)
        for seed in (1, 2, 3)
    ]
    markdown = learning_curves.write_report(runs, tmp_path)
    rows = [line for line in markdown.splitlines() if line.startswith(("| 50 ", "| 100 "))]
    assert rows == [
        "| 50 | 0.920 ± 0.010 (3) | 0.320 ± 0.010 (3) |",
        "| 100 | 0.920 ± 0.010 (3) | 0.320 ± 0.010 (3) |",
    ]
    assert (tmp_path / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recorded_bodies_are_aimed_at_the_benchmark_project(make_context) -> None:
    app = create_app(load_keyword_model(), context=make_context())
    client = app.test_client()
    assert project_key(4, "1.1795422209") == "4.1795422209"
    setup = client.post("/setup", json=setup_body(4, bbc_news.LABEL_CONFIG, "token"))
    assert setup.status_code == 200, setup.get_json()
    predicted = client.post("/predict", json=predict_body(4, bbc_news.LABEL_CONFIG, ["one", "two"]))
    assert predicted.status_code == 200, predicted.get_json()
    assert len(predicted.get_json()["results"]) == 2
    assert start_training_body(4, bbc_news.LABEL_CONFIG)["project"]["id"] == 4


@pytest.mark.slow
def test_prediction_benchmark_runs_end_to_end_on_a_tiny_load(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.predict_speed", "--backend", "classifier",
               "--texts", "6", "--repeats", "1", "--requests", "2"]  # fmt: skip
    env = {**os.environ, "BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-3:]  # the table is printed last
    assert last[0].startswith("| backend | pipeline texts/s"), done.stdout[-2000:]
    assert last[2].startswith("| classifier |")
    measured = json.loads((tmp_path / "predict_speed.json").read_text())["classifier"]
    assert all(rate > 0 for rate in measured["texts_per_s"].values())
