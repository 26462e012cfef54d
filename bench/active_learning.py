"""Active learning against sequential order, through a real Label Studio 1.23.2.

One Label Studio for the whole run; per data set two backends started with ``label-studio-ml start``
(one worker, ``INSTANT_VERSION_EVERY=1``, no fine-tuning): ``active`` with ``ACTIVE_LEARNING=true``,
``sequential`` without (Label Studio's default "Sequential sampling"). Per (data set, mode, seed) a
fresh project: the pool shuffled by the seed and imported in that order (so sequential order is a
random order), the backend connected. A simulated annotator then asks Label Studio's next-task
endpoint (what "Label All Tasks" calls) for a task and submits its gold label through the API, up to
``--labels`` times. After each label it waits (``--wait`` seconds at most; a timeout counts as a lag)
until, in active mode, the project points at the backend's new round's version, and in sequential
mode, the backend serves a new instant version: both modes learn from every label alike. At the
checkpoints the held-out tasks are POSTed to the backend's ``/predict`` and scored.

Full-data score: the same backend's instant layer after every pool task is labeled, in one more
project (sequential backend, the pool in seed-0 order, labels submitted without waiting).

With ``--fine-tune N`` the backends also fine-tune every ``N`` labels (``START_TRAINING_EACH_N_UPDATES``,
the product's other training settings at their defaults). After each ``N``-th label the annotator
waits for that training and for the version it publishes (the time is not counted in the pace),
so every checkpoint scores a model fine-tuned on the labels before it. The full-data score is then a
fine-tuning on the whole pool ("Start Training", a full re-train) with the instant layer on top.

    python -m bench.active_learning --write                  # about 30 minutes on 2 cores
    python -m bench.active_learning --datasets bbc --seeds 1 --labels 10
    python -m bench.active_learning --datasets conll --fine-tune 10 --write
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.active_learning_data import CHECKPOINTS, DATASETS, Dataset, report
from bench.report import ROOT, save_json, write_generated
from tests.support.backend_server import BackendServer
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser, project_entry, wait_for

PAGE = ROOT / "docs" / "active_learning.md"
COMMON_ENV = {"INSTANT_VERSION_EVERY": "1", "START_TRAINING_EACH_N_UPDATES": "0"}
MODES = {"active": {"ACTIVE_LEARNING": "true"}, "sequential": {"ACTIVE_LEARNING": "false"}}
#: How long the annotator waits for a fine-tuning (``--fine-tune``) before counting a lag.
TRAINING_WAIT_S = 600.0
#: Held-out tasks are predicted under ids no pool task has.
HELD_OUT_IDS = 1_000_000


class Bench:
    """One Label Studio user and what a run needs to reach the backends."""

    def __init__(self, user: LabelStudioUser, wait_s: float, fine_tune: int = 0) -> None:
        self.user = user
        self.wait_s = wait_s
        self.fine_tune = fine_tune

    def metrics(self, backend: BackendServer, project: int) -> dict[str, Any]:
        """The backend's ``/metrics`` entry for the project."""
        projects = requests.get(f"{backend.url}/metrics", timeout=30).json().get("projects", {})
        return project_entry(projects, project)

    def served(self, backend: BackendServer, key: str, data: Dataset) -> str:
        """The version ``/setup`` answers for the project, as Label Studio asks it."""
        body = {"project": key, "schema": data.label_config}
        return str(requests.post(f"{backend.url}/setup", json=body, timeout=30).json()["model_version"])

    def queued(self, backend: BackendServer, project: int, after: str | None) -> str | None:
        """The backend's last round's version once the project points at it (and it is not ``after``)."""
        version = (self.metrics(backend, project).get("active_learning") or {}).get("version")
        fields = self.user.request("GET", f"/api/projects/{project}/").json()
        pointed = fields["model_version"] == version and fields["sampling"] == "Uncertainty sampling"
        return version if pointed and version != after else None

    def trainings(self, backend: BackendServer, project: int) -> int | None:
        """How many trainings of the project have finished, while none runs (else ``None``)."""
        row = self.metrics(backend, project).get("training") or {}
        return int(row.get("runs") or 0) if row.get("state", "idle") == "idle" else None

    def after_training(self, backend: BackendServer, project: int, runs: int, key: str, data: Dataset,
                       mode: str, version: str) -> str | None:  # fmt: skip
        """Wait for the project's ``runs``-th training, then for the version it publishes."""
        if not self._wait(
            lambda: (self.trainings(backend, project) or 0) >= runs, TRAINING_WAIT_S, "a training"
        ):
            return None
        return self.next_version(backend, project, key, data, mode, version)

    def next_version(self, backend: BackendServer, project: int, key: str, data: Dataset, mode: str,
                     version: str) -> str | None:  # fmt: skip
        """The version after ``version``: the project's queue's (active) or the served one (sequential)."""
        if mode == "active":
            return self._wait(lambda: self.queued(backend, project, version))
        return self._wait(lambda: (s := self.served(backend, key, data)) != version and s)

    def held_out_score(self, backend: BackendServer, key: str, data: Dataset) -> float:
        """The held-out score of what the backend serves now, through ``/predict``."""
        tasks = [
            {"id": HELD_OUT_IDS + i, "data": {"text": text}} for i, (text, _) in enumerate(data.held_out)
        ]
        body = {"tasks": tasks, "project": key, "label_config": data.label_config}
        results = requests.post(f"{backend.url}/predict", json=body, timeout=300).json()["results"]
        return data.score([result["result"] for result in results])

    def project(self, backend: BackendServer, data: Dataset, order: list[int], title: str) -> tuple[int, str]:
        """A fresh project with the pool imported in ``order`` and the backend connected."""
        project = self.user.create_project(title, data.label_config)
        ids = self.user.import_tasks(project, [{"data": {"text": data.pool[i][0]}} for i in order])
        self.gold = {task: data.pool[i] for task, i in zip(ids, order, strict=True)}
        self.user.connect_backend(project, backend.url)
        return project, self.user.project_key(project)

    def run(self, backend: BackendServer, data: Dataset, mode: str, seed: int, labels: int) -> dict[str, Any]:
        """One labeling session; the held-out curve, rare-class labels found, lags and pace."""
        order = list(range(len(data.pool)))
        random.Random(seed).shuffle(order)
        project, key = self.project(backend, data, order, f"{data.name} {mode} seed {seed}")
        version = self._wait(lambda: self.queued(backend, project, None)) if mode == "active" \
            else self.served(backend, key, data)  # fmt: skip
        # Before any label: zero-shot (classifier) or nothing learned yet (NER).
        curve = {"0": round(self.held_out_score(backend, key, data), 4)}
        labeled, lagged, labeling_s = [], 0, 0.0
        for count in range(1, labels + 1):
            began = time.monotonic()
            task = self.user.request("GET", f"/api/projects/{project}/next/").json()
            text, gold = self.gold[task["id"]]
            self.user.annotate(task["id"], data.result(text, gold))
            labeled.append(gold)
            new = self.next_version(backend, project, key, data, mode, version)
            lagged += new is None
            version = new or version
            labeling_s += time.monotonic() - began
            if self.fine_tune and count % self.fine_tune == 0:
                new = self.after_training(backend, project, count // self.fine_tune, key, data, mode, version)
                lagged += new is None
                version = new or version
            if count in CHECKPOINTS or count == labels:
                curve[str(count)] = round(self.held_out_score(backend, key, data), 4)
        rare = sum(gold == data.rare for gold in labeled) if data.rare else None
        print(f"{data.name} {mode} seed {seed}: {curve} rare {rare} lagged {lagged}", flush=True)
        pace = round(labeling_s / labels, 2)
        return {"dataset": data.name, "mode": mode, "seed": seed, "labels": labels, "curve": curve,
                "rare_found": rare, "lagged": lagged, "seconds_per_label": pace,
                "fine_tune": self.fine_tune}  # fmt: skip

    def full_score(self, backend: BackendServer, data: Dataset) -> float:
        """The instant layer's held-out score after every pool task is labeled (pool in seed-0 order)."""
        order = list(range(len(data.pool)))
        random.Random(0).shuffle(order)
        project, key = self.project(backend, data, order, f"{data.name} full pool")
        for task, (text, gold) in self.gold.items():
            self.user.annotate(task, data.result(text, gold))
        self.steady(backend, project, key, data)
        if self.fine_tune:  # "Start Training": a full re-train on every label, as a user would ask
            runs = self.trainings(backend, project) or 0  # none runs: ``steady`` waited for that
            fields = self.user.request("GET", f"/api/projects/{project}/").json()
            body = {"action": "START_TRAINING", "project": fields}
            requests.post(f"{backend.url}/webhook", json=body, timeout=30).raise_for_status()
            wait_for(lambda: (self.trainings(backend, project) or 0) > runs, TRAINING_WAIT_S, "the training")
            self.steady(backend, project, key, data)
        return self.held_out_score(backend, key, data)

    def steady(self, backend: BackendServer, project: int, key: str, data: Dataset) -> None:
        """Until the served version has not changed for 5 s and no training runs: all is learned."""
        last, steady_since = "", time.monotonic()
        while time.monotonic() - steady_since < 5.0 or self.trainings(backend, project) is None:
            if (now := self.served(backend, key, data)) != last:
                last, steady_since = now, time.monotonic()
            time.sleep(0.5)

    def _wait(self, condition: Any, timeout_s: float | None = None, what: str = "a new version") -> Any:
        """``condition``'s value once truthy, ``None`` after ``timeout_s`` (``--wait`` by default)."""
        try:
            return wait_for(condition, timeout_s or self.wait_s, what, interval_s=0.25)
        except TimeoutError:
            return None


def backend_for(
    data: Dataset, mode: str, label_studio: LabelStudioServer, folder: Path, fine_tune: int = 0
) -> BackendServer:
    """A started backend of the data set's kind in ``mode``, allowed to write to Label Studio."""
    token = {
        "LABEL_STUDIO_URL": label_studio.url,
        "LABEL_STUDIO_API_KEY": label_studio.personal_access_token(),
    }
    training = {"START_TRAINING_EACH_N_UPDATES": str(fine_tune)}
    server = BackendServer(backend_dir=data.backend_dir, model_dir=folder / f"{data.name}-{mode}", workers=1,
                           env={**COMMON_ENV, **MODES[mode], **token, **training})  # fmt: skip
    server.start()
    return server


def measure(args: argparse.Namespace, label_studio: LabelStudioServer, folder: Path) -> dict[str, Any]:
    """Every (data set, mode, seed) run, and each data set's full-data score."""
    user = LabelStudioUser(label_studio.url, label_studio.personal_access_token())
    bench = Bench(user, args.wait, args.fine_tune)
    runs, full, started = [], {}, time.monotonic()
    for name in args.datasets:
        data = DATASETS[name](args.pool, args.held_out)
        for mode in args.modes:
            backend = backend_for(data, mode, label_studio, folder, args.fine_tune)
            try:
                for seed in range(1, args.seeds + 1):
                    runs.append(bench.run(backend, data, mode, seed, args.labels))
                    save_json(results_name(args), {"runs": runs, "full": full, "partial": True})
                if mode == "sequential" and args.full:
                    full[name] = round(bench.full_score(backend, data), 4)
            finally:
                backend.stop()
        if name not in full:  # no full-pool run: the best score any run reached
            full[name] = max(max(run["curve"].values()) for run in runs if run["dataset"] == name)
        print(f"{name}: full-data score {full[name]}; {time.monotonic() - started:.0f} s so far", flush=True)
    return {"runs": runs, "full": full, "full_method": "pool" if args.full else "best",
            "options": vars(args), "minutes": round((time.monotonic() - started) / 60, 1)}  # fmt: skip


def run_note(args: argparse.Namespace, minutes: float) -> str:
    """The line above the generated tables: what ran and how the full-data score was made."""
    training = f"fine-tuned every {args.fine_tune} labels; " if args.fine_tune else ""
    full = "a fine-tuning on the whole pool" if args.fine_tune else "the instant layer after the whole pool"
    full = full if args.full else "the best score seen"
    run = f"{args.seeds} seeds, {args.labels} labels, pool {args.pool}"
    return f"{run}; {training}full-data score: {full}; {minutes} min in all"


def results_name(args: argparse.Namespace) -> str:
    """The raw results' name: runs with fine-tuning are kept apart from the instant layer's."""
    return "active_learning_fine_tune" if args.fine_tune else "active_learning"


def main() -> None:
    """Run, print the report, save the raw numbers (and the docs block with ``--write``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--labels", type=int, default=40)
    parser.add_argument("--pool", type=int, default=200, help="pool size per data set")
    parser.add_argument("--held-out", type=int, default=20, help="held-out per label (CoNLL: per type)")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for a new version")
    parser.add_argument("--fine-tune", type=int, default=0, metavar="N",
                        help="also fine-tune every N labels (0: the instant layer alone)")  # fmt: skip
    parser.add_argument("--no-full", dest="full", action="store_false",
                        help="full-data score = the best score seen, not a labeled pool")  # fmt: skip
    parser.add_argument("--write", action="store_true", help=f"write the tables into {PAGE.name}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-al-") as tmp:
        label_studio = LabelStudioServer(data_dir=Path(tmp) / "label-studio")
        label_studio.start()
        try:
            measured = measure(args, label_studio, Path(tmp))
        finally:
            label_studio.stop()
    table = report(measured["runs"], measured["full"])
    saved = save_json(results_name(args), measured)
    if args.write:
        source = "bench.active_learning --fine-tune" if args.fine_tune else "bench.active_learning"
        note = run_note(args, measured["minutes"])
        write_generated(PAGE, f"{note}\n\n{table}", source)
    print(table, f"\nraw: {saved}", sep="\n")


if __name__ == "__main__":
    main()
