"""The classifier's light layers: zero-shot before any annotation, an instant head after each one.

Both work on frozen sentence embeddings (``hf_text.embeddings``). A record keeps a labeled task's
embedding and its choices (no text), and, when a fine-tuned version existed when the label
arrived, whether that version got it right (its forward check). A refit cross-validates the
instant head on every record, scores zero-shot on them, compares the fine-tuned version on the
labels it never saw, publishes the head as an ``instant-...`` version and serves the best layer
(``hf_text.layers``); ``/metrics`` shows the choice under ``served``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hf_text import layers, zero_shot
from hf_text.controls import ControlSpec
from hf_text.embeddings import SentenceEncoder, sentence_encoder
from hf_text.instant_head import LightHead, fit_head
from hf_text.instant_learning import Labeled
from hf_text.instant_store import is_instant_version, publish_version, version_store
from hf_text.resolve import resolve_model_folder
from label_studio_ml.model import MODEL_VERSION_KEY

if TYPE_CHECKING:
    from bert_classifier.model import BertClassifier

logger = logging.getLogger(__name__)

SERVED_KEY = "served"
#: Instant versions kept per project (the served one is never removed).
KEEP_INSTANT_VERSIONS = 5
_HEADS: OrderedDict[str, LightHead] = OrderedDict()


def _encode(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.float32)


def _load_head(path: Path) -> LightHead:
    """A published head, read once per process (a version folder never changes)."""
    key = str(path)
    if key not in _HEADS:
        _HEADS[key] = LightHead.from_bytes(path.read_bytes())
        while len(_HEADS) > 64:
            _HEADS.popitem(last=False)
    return _HEADS[key]


@functools.lru_cache(maxsize=64)
def _zero_shot_head(encoder: SentenceEncoder, labels: tuple[str, ...], texts: tuple[tuple[str, ...], ...],
                    token_budget: int) -> zero_shot.ZeroShotHead:  # fmt: skip
    per_label = [encoder.embed(zero_shot.prompts(list(described)), token_budget) for described in texts]
    return zero_shot.ZeroShotHead.from_prompt_embeddings(labels, per_label)


class ClassifierLayers:
    """Zero-shot and the instant head for one ``BertClassifier`` instance (one project)."""

    def __init__(self, model: BertClassifier) -> None:
        self.model = model
        self.settings = model.hf_settings

    # -- shared pieces -------------------------------------------------------------------------
    @functools.cached_property
    def encoder(self) -> SentenceEncoder:
        """The frozen baseline as a sentence encoder."""
        folder = resolve_model_folder(self.settings.baseline_model_name)
        return sentence_encoder(
            folder, self.model.device, self.settings.max_length, self.settings.window_stride,
            max(self.settings.embedding_cache_size, 1),
        )  # fmt: skip

    def zero_shot_reason(self, control: ControlSpec) -> str | None:
        """Why zero-shot does not serve ``control`` (``None``: it does)."""
        folder = resolve_model_folder(self.settings.baseline_model_name)
        from hf_text.embeddings import encoder_info

        return zero_shot.why_not(control, encoder_info(folder).sentence_model, self.settings.zero_shot)

    def zero_shot_head(self, control: ControlSpec) -> zero_shot.ZeroShotHead | None:
        """``control``'s zero-shot head, or ``None`` when zero-shot does not serve it."""
        if self.zero_shot_reason(control) is not None:
            return None
        texts = tuple(tuple(t) for t in zero_shot.descriptions(control))
        return _zero_shot_head(self.encoder, control.labels, texts, self.model.token_budget)

    def zero_shot_version(self) -> str | None:
        """The zero-shot version of the current config, ``None`` when no control has zero-shot."""
        served = [c for c in self.model.controls() if self.zero_shot_reason(c) is None]
        if not served:
            return None
        folder = resolve_model_folder(self.settings.baseline_model_name)
        return zero_shot.version_name([zero_shot.descriptions(c) for c in served], folder.name)

    # -- records -------------------------------------------------------------------------------
    def records(self, control: ControlSpec, items: Sequence[Labeled]) -> list[dict[str, Any]]:
        """Each item's embedding and choices, and the latest fine-tuned version's forward check."""
        if not items:
            return []
        vectors = self.encoder.embed([item.text for item in items], self.model.token_budget)
        checks = self.forward_checks(control, items) if len(items) == 1 else [{} for _ in items]
        return [
            {
                "annotation": item.annotation_id,
                "annotated_at": item.annotated_at,
                "received_at": time.time(),
                "target": sorted(item.target),
                "embedding": _encode(vector),
                "checks": check,
            }
            for item, vector, check in zip(items, vectors, checks, strict=True)
        ]

    def forward_checks(self, control: ControlSpec, items: Sequence[Labeled]) -> list[dict[str, float]]:
        """Whether the newest fine-tuned version, which never saw these labels, predicts them."""
        version = self.model.store.latest()
        if version is None:
            return [{} for _ in items]
        try:
            outcomes = self.model.fine_tuned_correct(version, control, [(i.text, i.target) for i in items])
        except Exception as exc:  # a broken version must not stop instant learning
            logger.warning("project %s: cannot check %s on a label: %s", self.model.project_id, version, exc)
            return [{} for _ in items]
        return [{} if outcome is None else {version: outcome} for outcome in outcomes]

    # -- refit ---------------------------------------------------------------------------------
    def refit(self, records: dict[str, list[dict[str, Any]]]) -> str | None:
        """Fit every control's head, publish it, serve the best layer; returns the served version."""
        controls = [c for c in self.model.controls() if records.get(c.from_name)]
        fine = self.model.store.latest()
        scores: dict[str, list[layers.Score]] = {layers.ZERO_SHOT: [], layers.INSTANT: [], "duel": []}
        heads, files = [], {}
        for index, control in enumerate(controls):
            head, summary = self.fit_control(control, records[control.from_name], fine, scores)
            files[f"head-{index}.npz"] = head.to_bytes()
            heads.append({"from_name": control.from_name, "file": f"head-{index}.npz", **summary})
        instant_version = None
        if heads:
            store = version_store(self.model.context.data_dir, self.model.project_id)
            config = [(c.from_name, c.labels, c.multiple) for c in controls] + [self.zero_shot_version()]
            signature = records_signature(records, config)
            latest = store.latest()
            if latest is not None and (store.meta(latest) or {}).get("records") == signature:
                instant_version = latest  # learned nothing new (a refit after training): same version
            else:
                meta = {"kind": layers.INSTANT, "model_class": type(self.model).__name__, "heads": heads,
                        "records": signature}  # fmt: skip
                instant_version = publish_version(store, files, meta, KEEP_INSTANT_VERSIONS)
        return self.serve(instant_version, fine, scores)

    def fit_control(
        self, control: ControlSpec, records: list[dict[str, Any]], fine: str | None, scores: dict[str, list]
    ) -> tuple[LightHead, dict[str, Any]]:
        """The control's head, and its scores added to ``scores``."""
        embeddings = np.stack([_decode(record["embedding"]) for record in records])
        targets = [frozenset(record["target"]) for record in records]
        zs = self.zero_shot_head(control)
        fit = fit_head(embeddings, targets, control.labels, control.multiple, zs.matrix if zs else None)
        n = len(records)
        scores[layers.INSTANT].append(layers.Score(layers.INSTANT, None, fit.accuracy, n))
        summary = {"kind": fit.head.kind, "examples": n, "cross_validated_accuracy": round(fit.accuracy, 4),
                   "candidates": fit.candidates, "temperature": round(fit.head.temperature, 4)}  # fmt: skip
        if zs is not None:
            picked = zs.logits(embeddings).argmax(axis=1)
            hits = [control.labels[p] in t and len(t) == 1 for p, t in zip(picked, targets, strict=True)]
            scores[layers.ZERO_SHOT].append(layers.Score(layers.ZERO_SHOT, None, float(np.mean(hits)), n))
            summary["zero_shot_accuracy"] = round(float(np.mean(hits)), 4)
        checked = [i for i, record in enumerate(records) if fine and fine in (record.get("checks") or {})]
        if checked:
            fine_hits = float(np.mean([records[i]["checks"][fine] for i in checked]))
            scores["duel"].append(layers.Duel(fine_hits, float(fit.held_out[checked].mean()), len(checked)))
        return fit.head, summary

    def serve(self, instant_version: str | None, fine: str | None, scores: dict[str, list]) -> str | None:
        """Choose the layer, publish its version, and record why for ``/metrics``."""
        zs_version = self.zero_shot_version()
        zs = _merge(scores[layers.ZERO_SHOT], layers.ZERO_SHOT, zs_version)
        if zs is None and zs_version is not None:
            zs = layers.Score(layers.ZERO_SHOT, zs_version, None, 0)
        instant = _merge(scores[layers.INSTANT], layers.INSTANT, instant_version)
        duels = scores["duel"]
        duel = None
        if duels:
            total = sum(d.examples for d in duels)
            duel = layers.Duel(
                sum(d.fine_tuned * d.examples for d in duels) / total,
                sum(d.instant * d.examples for d in duels) / total,
                total,
            )
        fine_score = None if fine is None else layers.Score(
            layers.FINE_TUNED, fine, duel.fine_tuned if duel else None, duel.examples if duel else 0
        )
        previous = self.model.get(SERVED_KEY) or {}
        inherited = previous.get("fine_tuned_beats_instant")
        if zs is not None and layers.near_chance(zs, min(len(c.labels) for c in self.model.controls())):
            zs = layers.Score(layers.ZERO_SHOT, None, zs.accuracy, zs.examples)  # withdrawn
        choice = layers.choose(zs, instant, fine_score, duel, inherited)
        shown = [s for s in (zs, instant, fine_score) if s is not None]
        extra: dict[str, Any] = {"zero_shot": self.zero_shot_report(), "duel": None}
        if fine is not None:
            extra["duel"] = {
                "fine_tuned_version": fine,
                "fine_tuned": None if duel is None else round(duel.fine_tuned, 4),
                "instant": None if duel is None else round(duel.instant, 4),
                "examples": 0 if duel is None else duel.examples,
            }
        self.model.set(SERVED_KEY, choice.report(shown, extra))
        if choice.version is None:
            self.model.context.state.delete(self.model.project_id, MODEL_VERSION_KEY)
        elif choice.version != self.model.get(MODEL_VERSION_KEY):
            self.model.set_model_version(choice.version)
        return choice.version

    def zero_shot_report(self) -> dict[str, Any]:
        """Per control: zero-shot serves it, or why not."""
        return {c.from_name: self.zero_shot_reason(c) or "on" for c in self.model.controls()}

    # -- predict -------------------------------------------------------------------------------
    def probabilities(self, version: str, control: ControlSpec, embeddings: np.ndarray) -> tuple[
        np.ndarray, tuple[str, ...]
    ] | None:
        """``(probabilities, labels)`` of ``version``'s light layer for ``control``, or ``None``."""
        if is_instant_version(version):
            store = version_store(self.model.context.data_dir, self.model.project_id)
            meta = store.meta(version) or {}
            for head in meta.get("heads", []):
                if head.get("from_name") == control.from_name:
                    light = _load_head(store.root / version / head["file"])
                    if light.multiple == control.multiple:
                        return light.probabilities(embeddings), light.labels
        zs = self.zero_shot_head(control)
        if zs is None:
            return None
        logits = zs.logits(embeddings)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True), zs.labels


def records_signature(records: dict[str, list[dict[str, Any]]], config: Any) -> str:
    """Identifies what the records teach (which task says what) under ``config``, in any order."""
    taught = sorted(
        (name, str(record.get("task")), record.get("annotation"), record.get("target"))
        for name, items in records.items()
        for record in items
    )
    return hashlib.sha256(json.dumps([taught, config], default=str).encode()).hexdigest()[:16]


def _merge(scores: list[layers.Score], layer: str, version: str | None) -> layers.Score | None:
    """Per-control scores as one, weighted by examples; ``None`` when there are none."""
    counted = [s for s in scores if s.accuracy is not None and s.examples]
    if version is None and not counted:
        return None
    total = sum(s.examples for s in counted)
    accuracy = sum(s.accuracy * s.examples for s in counted) / total if total else None  # type: ignore[operator]
    return layers.Score(layer, version, accuracy, total)
