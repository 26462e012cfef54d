"""Zero-shot serves before any label only where its label words separate the project's own texts.

Label words carry a task's meaning for topics (BBC News: zero-shot right on 0.77 of the articles)
and not for sentiment (tweets: 0.35, chance 0.33): a sentence encoder puts "I love it" and "I hate
it" close together. A wrong pre-filled choice anchors the annotator and costs more than none, so
zero-shot decides per control, on the embeddings of the tasks Label Studio asked predictions for
(``ProjectTexts``), whether its labels separate them. Two statistics, both required:

* ``margin``: the mean gap between each text's most and second most similar label (cosine). Texts
  that fall clearly to one label: BBC News 0.086, tweets 0.032 (200 texts); stable from a few
  dozen texts.
* ``agreement``: the share of zero-shot's decisions that the texts' own clusters keep, found by
  the soft k-means of ``bert_classifier.light.transductive`` started from the label directions (the same test,
  and threshold, that refuses the refinement): BBC News 0.74, tweets 0.38.

Measured (``bench/zero_shot_abstain.py``, ``docs/zero_shot_abstain.md``) on random samples of
each set's texts: from 20 texts the rule served BBC News in 100% of the samples and tweets in
none; agreement alone needs about 100 texts (tweets pass it in 46% of the 20-text samples, 6% at
50, 2% at 100), the margin decides early, and the agreement guards it with cluster structure.
Below ``MIN_TEXTS`` known texts (the very first task opened) zero-shot stays silent. A /predict
keeps its own tasks' texts before the decision, so Label Studio's "Retrieve predictions", which
sends every task at once, is decided on all of them.

The decision is taken over the oldest kept texts, ``RUNGS`` of them (20, 50, ...): it can change
at those counts only, and a change is a new model version (Label Studio then asks again), so
versions do not flap as texts arrive. It is cached per process by the texts folder's time and the
label directions: a /predict costs a ``stat`` while nothing was added. The texts kept are bounded
(``hf_text.instant.records.MAX_PROJECT_TEXTS`` across controls) by refusing new ones, never by
evicting old ones, so a full project's samples, and so its decisions, stay put.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bert_classifier.light import layers as served_layers
from bert_classifier.light import transductive
from bert_classifier.light.embeddings import SentenceEncoder
from bert_classifier.light.files import decode_vector, encode_vector
from bert_classifier.light.zero_shot import ZeroShotHead
from hf_text.base import HFTextModel
from hf_text.data.controls import ControlSpec
from hf_text.instant.records import ProjectTexts
from hf_text.settings import HFSettings
from label_studio_ml.caching import BoundedCache
from label_studio_ml.server.status import SERVED_KEY

#: Fewer known texts than this: zero-shot stays silent (measured: at 10 texts the rule served BBC
#: in 94% of samples and tweets in 2%; from 20, 100% and 0%).
MIN_TEXTS = 20
#: Mean cosine gap between a text's best and second-best label: BBC 0.086, tweets 0.032.
MIN_MARGIN = 0.05
#: Share of zero-shot's decisions the texts' own clusters must keep (``bert_classifier.light.transductive``).
MIN_AGREEMENT = transductive.MIN_AGREEMENT
#: The decision is taken over this many of the oldest kept texts (the largest rung reached).
RUNGS = (MIN_TEXTS, 50, 100, 200, 500, 1000)
ON = "on"
_CACHE_SIZE = 256


class ZeroShotLayers(Protocol):
    """What the rule reads of a project's light layers (``bert_classifier.instant.ClassifierLayers``):
    the project's model, its zero-shot heads, and the embeddings kept of its texts."""

    model: HFTextModel
    settings: HFSettings

    @property
    def encoder(self) -> SentenceEncoder: ...

    def zero_shot_reason(self, control: ControlSpec) -> str | None: ...

    def zero_shot_head(self, control: ControlSpec) -> ZeroShotHead | None: ...

    def zero_shot_version(self) -> str | None: ...

    def project_texts(self, control: ControlSpec) -> ProjectTexts: ...


@dataclass(frozen=True)
class Separation:
    """How well a control's label words separate the project's texts (``None``: too few texts)."""

    texts: int
    margin: float | None = None
    agreement: float | None = None

    def why_not(self) -> str | None:
        """Why zero-shot abstains, in words for ``/metrics``; ``None`` when it serves."""
        if self.margin is None or self.agreement is None:
            return (
                f"zero-shot abstains: too few of this project's texts seen yet to tell whether the "
                f"label words separate them ({self.texts} < {MIN_TEXTS})"
            )
        failed = [f"margin {self.margin:.3f} < {MIN_MARGIN}"] if self.margin < MIN_MARGIN else []
        if self.agreement < MIN_AGREEMENT:
            failed.append(f"agreement {self.agreement:.2f} < {MIN_AGREEMENT}")
        if not failed:
            return None
        return (
            f"zero-shot abstains: label words do not separate this project's texts "
            f"({', '.join(failed)} over {self.texts} texts)"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the verdict."""
        return {
            "texts": self.texts,
            "margin": None if self.margin is None else round(self.margin, 4),
            "agreement": None if self.agreement is None else round(self.agreement, 4),
            "serves": self.why_not() is None,
        }


def measure(directions: np.ndarray, texts: np.ndarray) -> Separation:
    """The separation of unit ``texts`` ``(n, dimension)`` by unit label ``directions``."""
    directions, texts = directions.astype(np.float64), texts.astype(np.float64)
    ranked = np.sort(texts @ directions.T, axis=1)
    # A single label separates nothing: ticking the only choice everywhere is no information.
    margin = float(np.mean(ranked[:, -1] - ranked[:, -2])) if ranked.shape[1] > 1 else 0.0
    refined = transductive.refine(directions, texts)
    return Separation(len(texts), margin, transductive.agreement(refined, directions, texts))


def rung(count: int) -> int:
    """How many of ``count`` known texts the decision is taken over (0: too few)."""
    return max((size for size in RUNGS if size <= count), default=0)


# This process's decisions.
_SAMPLES: BoundedCache[str, tuple[tuple[str, ...], int]] = BoundedCache(_CACHE_SIZE)  # stamp: mtime
_SEPARATIONS: BoundedCache[tuple[Any, ...], Separation] = BoundedCache(_CACHE_SIZE)  # by sample, labels
_REPORTED: BoundedCache[str, dict[str, Any]] = BoundedCache(_CACHE_SIZE)  # project -> last report written


def _oldest_first(folder: Path) -> list[str]:
    """The kept texts' file names, oldest first: a kept text is never rewritten, so the oldest
    N stay the same N as texts are added (every process and replica draws the same sample)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        if entry.name.endswith(".json") and not entry.name.startswith("."):
            try:
                found.append((entry.stat().st_mtime_ns, entry.name))
            except FileNotFoundError:
                continue
    return [name for _, name in sorted(found)]


def sample(folder: Path) -> tuple[tuple[str, ...], int]:
    """The file names the decision is taken over, and how many texts are known."""
    try:
        stamp = os.stat(folder).st_mtime_ns  # adding a file changes its folder's time
    except FileNotFoundError:
        return (), 0
    return _SAMPLES.get_or_compute(str(folder), lambda: _sample_now(folder), stamp)


def _sample_now(folder: Path) -> tuple[tuple[str, ...], int]:
    names = _oldest_first(folder)
    return tuple(names[: rung(len(names))]), len(names)


def _vectors(folder: Path, names: tuple[str, ...]) -> np.ndarray:
    rows = []
    for name in names:
        try:
            rows.append(decode_vector(json.loads((folder / name).read_text(encoding="utf-8"))["embedding"]))
        except (OSError, ValueError, KeyError):
            continue  # removed meanwhile, or a foreign file: the others decide
    return np.stack(rows) if rows else np.zeros((0, 1), dtype=np.float32)


def separation(layers: ZeroShotLayers, control: ControlSpec) -> Separation | None:
    """``control``'s separation over the project's texts; ``None`` when this rule does not apply
    (zero-shot off for the config, or forced with ``ZERO_SHOT=on``)."""
    if layers.settings.zero_shot == ON or layers.zero_shot_reason(control) is not None:
        return None
    folder = layers.project_texts(control).folder
    names, count = sample(folder)
    if not names:
        return Separation(count)  # decided before the encoder is even needed
    head = layers.zero_shot_head(control)
    if head is None:
        return None
    # A taxonomy's inner node lies next to its children ("News", "News / business"): the leaves
    # are the alternatives whose words must separate the texts.
    leaves = set(control.leaves())
    matrix = head.matrix[[index for index, label in enumerate(head.labels) if label in leaves]]
    key = (str(folder), hashlib.sha256("\0".join(names).encode()).hexdigest(), head.labels,
           hashlib.sha256(matrix.tobytes()).hexdigest())  # fmt: skip
    return _SEPARATIONS.get_or_compute(key, lambda: _measured(matrix, _vectors(folder, names)))


def _measured(directions: np.ndarray, vectors: np.ndarray) -> Separation:
    return measure(directions, vectors) if len(vectors) >= MIN_TEXTS else Separation(len(vectors))


def abstains(layers: ZeroShotLayers, control: ControlSpec) -> str | None:
    """Why zero-shot stays silent on ``control`` although its config allows it (``None``: it
    serves, or the config rules it out: ``ClassifierLayers.zero_shot_reason`` says why)."""
    found = separation(layers, control)
    return None if found is None else found.why_not()


def status(layers: ZeroShotLayers, control: ControlSpec) -> str:
    """``"on"``, or why zero-shot does not serve ``control`` (the config, or this project's texts)."""
    return layers.zero_shot_reason(control) or abstains(layers, control) or ON


def keep_texts(layers: ZeroShotLayers, control: ControlSpec, tasks: list[dict[str, Any]]) -> None:
    """Keep the embeddings of ``tasks`` not kept yet, where zero-shot may serve ``control``: its
    decision (and the instant head's refinement) reads them. Called before the version is chosen,
    so a batch's own texts count; embeddings are cached, so predicting them after costs nothing."""
    if layers.zero_shot_reason(control) is not None:
        return
    texts = [layers.model.task_text(task, control) for task in tasks]
    present = [index for index, text in enumerate(texts) if text]
    ids = [tasks[index].get("id") for index in present]
    kept = layers.project_texts(control)
    new = kept.missing(ids)
    if new:
        vectors = layers.encoder.embed([texts[present[i]] for i in new], layers.model.token_budget)
        kept.add_many([(ids[p], encode_vector(v)) for p, v in zip(new, vectors, strict=True)])


def report_before_labels(layers: ZeroShotLayers) -> None:
    """``/metrics``' ``served`` before a refit chose a layer: zero-shot or nothing, and why per
    control. Written when it changes; a refit's own report (it knows more) is never replaced."""
    model = layers.model
    controls = model.controls()
    version = layers.zero_shot_version()
    statuses = {control.from_name: status(layers, control) for control in controls}
    found = {c.from_name: separation(layers, c) for c in controls}
    measured = {name: each.as_dict() for name, each in found.items() if each is not None}
    silent = "; ".join(f"{name}: {why}" for name, why in statuses.items() if why != ON)
    if version is None:
        why = f"no annotation yet, and zero-shot does not serve this project ({silent})"
    else:
        why = "no annotation yet; zero-shot's label words separate this project's texts" + (
            f" ({silent})" if silent else ""
        )
    layer = served_layers.ZERO_SHOT if version else served_layers.NONE
    report = {"layer": layer, "model_version": version, "why": why, "zero_shot": statuses,
              "zero_shot_separation": measured, "before_labels": True}  # fmt: skip
    if version is not None:  # the encoder serves zero-shot: which back end, and why
        report["encoder"] = layers.encoder.served
    project = f"{model.context.data_dir}|{model.project_id}"
    if _REPORTED.get(project) == report:
        return
    existing = model.get(SERVED_KEY)
    if not (isinstance(existing, dict) and existing and not existing.get("before_labels")):
        model.set(SERVED_KEY, report)
    _REPORTED.put(project, report)  # written, or a refit's report stays: either way, done for it
