"""Hostile clients against the real server: slow sockets, a departing client, a 20 MB text.

Two ways of serving the same classifier backend (``bert_classifier``, embedded MiniLM, a published
version, so every ``/predict`` runs the model), one gunicorn worker each:

* ``before``: the command line this replaced, gunicorn's threaded worker (``--worker-class gthread
  --threads 8 _wsgi:app``), kept here as the baseline (``--serve-gthread``);
* ``after``: ``label-studio-ml start`` (the asyncio worker and ``label_studio_ml.server.asgi_bridge``).

Cases, each run against both servers in every round (which goes first flips each round):

* ``slow clients``: 8 and 64 connections trickling headers or a body; seconds until ``/health``
  and a one-task ``/predict`` answer (``none in 5 s`` when they do not);
* ``20 MB text``: one task of 20,000,000 characters: its seconds, the worker's memory growth, and a
  one-task ``/predict`` sent while it runs;
* ``departing client`` (last: under the baseline its work goes on for minutes): forty
  100,000-character texts in one ``/predict`` whose client hangs up after 3 s (as Label Studio
  does after its 100 s); the worker's CPU seconds in the 15 s after, and a one-task ``/predict``
  meanwhile.

    python -m bench.hostile_clients                 # about 6 minutes on 2 cores
    python -m bench.hostile_clients --rounds 1 --slow 8
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.report import ROOT, markdown_table, save_json, write_generated
from tests.support.backend_server import BERT_CLASSIFIER_DIR
from tests.support.hostile_clients import (
    CONFIG,
    PROJECT,
    long_text,
    port_of,
    predict_body,
    send_and_leave,
    trickling,
)
from tests.support.servers import backend

WAIT_S = 5.0
PAGE = ROOT / "docs" / "hostile.md"
MIB = 1 << 20


def baseline_command() -> list[str]:
    """How ``backend()`` starts the baseline: this module, serving with gunicorn's threaded worker."""
    return [sys.executable, "-m", "bench.hostile_clients", "--serve-gthread", str(BERT_CLASSIFIER_DIR)]


def serve_gthread(argv: list[str]) -> None:
    """Exec gunicorn as ``label-studio-ml start`` did before the asyncio worker (the baseline)."""
    from label_studio_ml import cli

    options = cli.build_parser(os.environ).parse_args(["start", *argv])
    command = cli.gunicorn_command(Path(options.directory), options)
    worker_class = command.index("--worker-class")
    command[worker_class + 1 : worker_class + 2] = ["gthread", "--threads", "8"]
    command = [word for word in command if word not in ("--asgi-lifespan", "on")]
    command[-1] = "_wsgi:app"
    env = cli.child_environment(Path(options.directory), options, os.environ)
    os.execve(command[0], command, env)


def publish(model_dir: Path) -> None:
    """A published version of PROJECT in ``model_dir``: the embedded encoder with a seeded head."""
    from bert_classifier.model import BertClassifier
    from hf_text.settings import HFSettings
    from label_studio_ml.config import Settings
    from label_studio_ml.context import BackendContext
    from tests.support.published_heads import publish_head

    context = BackendContext.for_model(BertClassifier, Settings(model_dir=model_dir), environ={})
    model = BertClassifier(project_id=PROJECT, label_config=CONFIG, context=context, hf_settings=HFSettings())
    publish_head(model, ["sport", "tech"], winner=0)


def seconds_to_answer(call: Callable[[], requests.Response]) -> float | None:
    """Seconds until ``call`` answers 200, or None when it does not within ``WAIT_S``."""
    began = time.perf_counter()
    try:
        ok = call().status_code == 200
    except requests.RequestException:
        return None
    return time.perf_counter() - began if ok else None


def health(url: str) -> float | None:
    return seconds_to_answer(lambda: requests.get(f"{url}/health", timeout=WAIT_S))


def one_task(url: str, timeout: float = WAIT_S) -> float | None:
    body = predict_body(["A late goal won it."])
    return seconds_to_answer(lambda: requests.post(f"{url}/predict", json=body, timeout=timeout))


def worker(url: str) -> psutil.Process:
    return psutil.Process(requests.get(f"{url}/metrics", timeout=30).json()["worker"]["pid"])


def slow_clients(url: str, count: int) -> dict[str, float | None]:
    with trickling(port_of(url), count):
        time.sleep(1.0)
        return {"health_s": health(url), "predict_s": one_task(url)}


def departing_client(url: str) -> dict[str, float | None]:
    process = worker(url)
    send_and_leave(url, predict_body([long_text(seed, 100_000) for seed in range(40)]), after_s=3)
    cpu = sum(process.cpu_times()[:2])
    time.sleep(1.0)
    predict_s = one_task(url, timeout=60)
    time.sleep(14.0)
    return {"cpu_s_after_leaving": sum(process.cpu_times()[:2]) - cpu, "predict_s": predict_s}


def huge_text(url: str) -> dict[str, float | None]:
    process = worker(url)
    before, peak, done = process.memory_info().rss, [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak.append(process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    answer: dict[str, float | None] = {}
    body = predict_body([long_text(1, 20_000_000)])
    huge = threading.Thread(
        target=lambda: answer.update(
            huge_s=seconds_to_answer(lambda: requests.post(f"{url}/predict", json=body, timeout=600))
        )
    )
    huge.start()
    time.sleep(2.0)
    answer["predict_s"] = one_task(url, timeout=120)
    huge.join()
    done.set()
    sampler.join()
    return {**answer, "rss_growth_mib": (max(peak) - before) / MIB}


@contextmanager
def server(name: str, root: Path) -> Iterator[str]:
    env = {"MODEL_DIR": str(root / "models"), "LOG_LEVEL": "WARNING"}
    command = baseline_command() if name == "before" else None
    with backend(BERT_CLASSIFIER_DIR, env, workers=1, command=command, log=root / f"{name}.log") as url:
        if one_task(url, timeout=60) is None:
            raise RuntimeError(f"{name}: the published version does not serve")
        yield url


def run_cases(url: str, slow: list[int]) -> Iterator[tuple[str, dict[str, float | None]]]:
    """Every case against the server at ``url``, in order."""
    for count in slow:
        yield f"{count} slow clients", slow_clients(url, count)
    yield "20 MB text", huge_text(url)
    # Last: under the baseline the departed request's work goes on for minutes after this.
    yield "departing client", departing_client(url)


def measure(rounds: int, slow: list[int]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``{case: {"before"|"after": [one result per round]}}``."""
    root = Path(tempfile.mkdtemp(prefix="hostile-clients-"))
    publish(root / "models")
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for round_ in range(rounds):
        for name in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
            with server(name, root) as url:
                for case, result in run_cases(url, slow):
                    print(f"round {round_ + 1}, {name}, {case}: {result}", flush=True)
                    results.setdefault(case, {}).setdefault(name, []).append(result)
    return results


#: What each figure means, as the table says it.
FIGURES = {
    "health_s": "`/health` (s)",
    "predict_s": "one-task `/predict` meanwhile (s)",
    "huge_s": "the 20 MB text's `/predict` (s)",
    "rss_growth_mib": "worker memory growth (MiB)",
    "cpu_s_after_leaving": "worker CPU seconds in the 15 s after the client left",
}


def _cell(values: list[float | None], unit: str) -> str:
    if any(value is None for value in values):
        answered = [value for value in values if value is not None]
        return f"none in {WAIT_S:g} s ({len(answered)} of {len(values)} answered)"
    worst = max(values)  # type: ignore[type-var]  # None ruled out above
    return f"{worst:.3f}" if unit == "s" else f"{worst:.0f}"


def report(results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    """Worst over rounds of each figure, before and after."""
    rows = []
    for case, by_server in results.items():
        for figure in by_server["after"][0]:
            unit = "MiB" if figure.endswith("mib") else "s"
            cells = [_cell([run[figure] for run in by_server[name]], unit) for name in ("before", "after")]
            rows.append([case, FIGURES[figure], *cells])
    return markdown_table(["case", "figure (worst of the rounds)", "before: gthread", "after: asyncio"], rows)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-gthread":
        serve_gthread(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--slow", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--write", action="store_true", help=f"put the table in {PAGE.relative_to(ROOT)}")
    args = parser.parse_args()
    results = measure(args.rounds, args.slow)
    saved = save_json("hostile_clients", {"rounds": args.rounds, "results": results})
    table = report(results)
    if args.write:
        write_generated(PAGE, table, "bench.hostile_clients")
    print(table, f"\nraw: {saved}", sep="\n")


if __name__ == "__main__":
    main()
