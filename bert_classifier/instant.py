"""The classifier's light layers: zero-shot before any annotation, an instant head after each one.

Both work on frozen sentence embeddings (``light.embeddings``). A record keeps a labeled task's
embedding and its choices (no text), and, when a fine-tuned version existed when the label
arrived, whether that version got it right (its forward check). A refit cross-validates the
instant head on every record, scores zero-shot on them, compares the fine-tuned version on the
labels it never saw, publishes the head as an ``instant-...`` version and serves the best layer
(``light.layers``); ``/metrics`` shows the choice under ``served``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from bert_classifier.forward_check import fine_tuned_correct
from bert_classifier.light import abstain, layers, zero_shot
from bert_classifier.light.embeddings import SentenceEncoder, encoder_info, sentence_encoder
from bert_classifier.light.files import decode_vector, encode_vector, load_head, remember_head
from bert_classifier.light.instant_head import LightHead, fit_head
from bert_classifier.task import ChoicesTask
from hf_text.base import HFTextModel
from hf_text.data.controls import ControlSpec
from hf_text.instant import visible_version
from hf_text.instant.learning import Labeled
from hf_text.instant.records import ProjectTexts, is_instant_version, publish_version, version_store
from hf_text.runtime.device import choose_device
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.settings import HFSettings
from label_studio_ml.learning.active.random_slice import trusted
from label_studio_ml.learning.active.rounds import ACTIVE_KEY
from label_studio_ml.server.status import SERVED_KEY

logger = logging.getLogger(__name__)

#: Instant versions kept per project (the served one is never removed).
KEEP_INSTANT_VERSIONS = 5


def baseline_encoder(settings: HFSettings) -> SentenceEncoder:
    """The frozen baseline as this process's sentence encoder (loaded once, shared by projects)."""
    return sentence_encoder(
        resolve_model_folder(settings.baseline_model_name), choose_device(settings.device),
        settings.max_length, settings.window_stride, max(settings.embedding_cache_size, 1),
        settings.inference_backend, settings.inference_threads,
    )  # fmt: skip


def light_layers_enabled(settings: HFSettings) -> bool:
    """Whether zero-shot or the instant head may ever need the sentence encoder."""
    if settings.instant_learning:
        return True
    folder = resolve_model_folder(settings.baseline_model_name)
    return settings.zero_shot != "off" and encoder_info(folder).sentence_model


@functools.lru_cache(maxsize=64)
def _zero_shot_head(encoder: SentenceEncoder, labels: tuple[str, ...], texts: tuple[tuple[str, ...], ...],
                    token_budget: int) -> zero_shot.ZeroShotHead:  # fmt: skip
    per_label = [encoder.embed(zero_shot.prompts(list(described)), token_budget) for described in texts]
    return zero_shot.ZeroShotHead.from_prompt_embeddings(labels, per_label)


class ClassifierLayers:
    """Zero-shot and the instant head for one project: its model (``BertClassifier``, through the
    shared ``HFTextModel`` surface: its controls, texts, state and fine-tuned versions) and its task."""

    def __init__(self, model: HFTextModel, task: ChoicesTask) -> None:
        self.model = model
        self.task = task
        self.settings = model.hf_settings

    # -- shared pieces -------------------------------------------------------------------------
    @functools.cached_property
    def encoder(self) -> SentenceEncoder:
        """The frozen baseline as a sentence encoder."""
        return baseline_encoder(self.settings)

    def zero_shot_reason(self, control: ControlSpec) -> str | None:
        """Why zero-shot does not serve ``control`` (``None``: it does)."""
        folder = resolve_model_folder(self.settings.baseline_model_name)
        return zero_shot.why_not(control, encoder_info(folder).sentence_model, self.settings.zero_shot)

    def zero_shot_head(self, control: ControlSpec) -> zero_shot.ZeroShotHead | None:
        """``control``'s zero-shot head, or ``None`` when zero-shot does not serve it."""
        if self.zero_shot_reason(control) is not None:
            return None
        texts = tuple(tuple(t) for t in zero_shot.descriptions(control))
        return _zero_shot_head(self.encoder, control.labels, texts, self.model.token_budget)

    def zero_shot_version(self) -> str | None:
        """The zero-shot version of the controls it serves, ``None`` when it serves none (their
        config, or this project's texts: ``light.abstain``)."""
        served = [c for c in self.model.controls() if abstain.status(self, c) == abstain.ON]
        if not served:
            return None
        folder = resolve_model_folder(self.settings.baseline_model_name)
        return zero_shot.version_name([zero_shot.descriptions(c) for c in served], folder.name)

    # -- records -------------------------------------------------------------------------------
    def records(self, control: ControlSpec, items: Sequence[Labeled]) -> list[dict[str, Any]]:
        """Each item's embedding and choices; for a label that just arrived, whether the newest
        fine-tuned version predicted it (its forward check)."""
        if not items:
            return []
        vectors = self.encoder.embed([item.text for item in items], self.model.token_budget)
        return [
            {
                "annotation": item.annotation_id,
                "task": item.task_id,
                "annotated_at": item.annotated_at,
                "received_at": time.time(),
                "target": sorted(item.target),
                "embedding": encode_vector(vector),
                "checks": self.arrival_checks(control, item, vector) if len(items) == 1 else {},
            }
            for item, vector in zip(items, vectors, strict=True)
        ]

    def arrival_checks(self, control: ControlSpec, item: Labeled, vector: np.ndarray) -> dict[str, Any]:
        """Did the newest fine-tuned version, which never learned this label, predict it?"""
        fine = self.model.store.latest()
        if fine is None:
            return {}
        try:
            [outcome] = fine_tuned_correct(self.model, self.task, fine, control, [(item.text, item.target)])
        except Exception as exc:  # a broken version must not stop instant learning
            logger.warning("project %s: cannot check %s on a label: %s", self.model.project_id, fine, exc)
            return {}
        return {} if outcome is None else {layers.FINE_TUNED: outcome, "fine_tuned_version": fine}

    # -- refit ---------------------------------------------------------------------------------
    def refit(self, records: dict[str, list[dict[str, Any]]]) -> str | None:
        """Fit every control's head, publish it, serve the best layer; returns the served version."""
        controls = [c for c in self.model.controls() if records.get(c.from_name)]
        heads, files, fitted, outcomes = [], {}, {}, []
        for index, control in enumerate(controls):
            head, summary, held_out = self.fit_control(control, records[control.from_name])
            outcomes += held_out
            files[f"head-{index}.npz"] = head.to_bytes()
            fitted[f"head-{index}.npz"] = head
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
                kept = visible_version.protected(self.model)
                instant_version = publish_version(store, files, meta, KEEP_INSTANT_VERSIONS, kept)
                for name, head in fitted.items():  # its first predictions need not read them back
                    remember_head(store.root / instant_version / name, head)
        return self.serve(instant_version, outcomes, heads)

    def fit_control(
        self, control: ControlSpec, records: list[dict[str, Any]]
    ) -> tuple[LightHead, dict[str, Any], list[dict[str, Any]]]:
        """The control's head, what ``/metrics`` shows about it, and per record whether each layer
        got it right without having learned it: the instant head cross-validated, zero-shot, and
        the fine-tuned version checked when the label arrived."""
        embeddings = np.stack([decode_vector(record["embedding"]) for record in records])
        targets = [frozenset(record["target"]) for record in records]
        zs = self.zero_shot_head(control)
        texts = self.texts_of(control) if zs is not None and not control.multiple else None
        fit = fit_head(embeddings, targets, control.labels, control.multiple, zs.matrix if zs else None,
                       texts=texts)  # fmt: skip
        summary = {"kind": fit.head.kind, "examples": len(records), "candidates": fit.candidates,
                   "cross_validated_accuracy": round(fit.accuracy, 4),
                   "temperature": round(fit.head.temperature, 4),
                   "project_texts": 0 if texts is None else len(texts),
                   "refined_on_project_texts": fit.refined}  # fmt: skip
        outcomes = [
            {**(r.get("checks") or {}), layers.INSTANT: float(held), "received_at": r.get("received_at"),
             "task": r.get("task")}
            for r, held in zip(records, fit.held_out, strict=True)
        ]  # fmt: skip
        if zs is not None:
            picked = zs.logits(embeddings).argmax(axis=1)
            for outcome, p, target in zip(outcomes, picked, targets, strict=True):
                outcome[layers.ZERO_SHOT] = float(frozenset({control.labels[p]}) == target)
            summary["zero_shot_accuracy"] = round(float(np.mean([o[layers.ZERO_SHOT] for o in outcomes])), 4)
        return fit.head, summary, outcomes

    # -- the project's texts --------------------------------------------------------------------
    def project_texts(self, control: ControlSpec) -> ProjectTexts:
        """The embeddings kept of the project's predicted tasks for ``control``."""
        return ProjectTexts(self.model.context.data_dir, self.model.project_id, control.from_name)

    def texts_of(self, control: ControlSpec) -> np.ndarray | None:
        """The kept embeddings of the project's tasks, ``None`` when there are none."""
        kept = [decode_vector(record["embedding"]) for record in self.project_texts(control).all()]
        return np.stack(kept) if kept else None

    def serve(
        self, instant_version: str | None, outcomes: list[dict[str, Any]], heads: list[dict[str, Any]]
    ) -> str | None:
        """Choose the layer (``light.layers``), publish its version, and record why for ``/metrics``."""
        checks = sorted(outcomes, key=lambda o: float(o.get("received_at") or 0))
        honest = trusted(self.model.get(ACTIVE_KEY))  # active learning's picks would flatter challengers
        if honest is not None:
            checks = [c for c in checks if honest(c.get("task"), float(c.get("received_at") or 0))]
        checks = checks[-layers.WINDOW :]

        def duel(challenger: str) -> layers.Duel:
            both = [c for c in checks if challenger in c and layers.INSTANT in c]
            pairs = [(c[challenger], c[layers.INSTANT]) for c in both]
            return layers.Duel.of(challenger, layers.INSTANT, pairs)

        zs_version = self.zero_shot_version()
        zs_seen = [h["zero_shot_accuracy"] * h["examples"] for h in heads if "zero_shot_accuracy" in h]
        zs_examples = sum(h["examples"] for h in heads if "zero_shot_accuracy" in h)
        zs_accuracy = sum(zs_seen) / zs_examples if zs_examples else None
        choices = min((len(c.labels) for c in self.model.controls()), default=0)
        if layers.near_chance(zs_accuracy, zs_examples, choices):
            zs_version = None
        fine = self.model.store.latest()
        zs_duel, fine_duel = duel(layers.ZERO_SHOT), duel(layers.FINE_TUNED)
        choice = layers.choose(zs_version, instant_version, fine, zs_duel, fine_duel)
        report = choice.report(
            zero_shot={c.from_name: abstain.status(self, c) for c in self.model.controls()},
            zero_shot_accuracy=None if zs_accuracy is None else round(zs_accuracy, 4),
            zero_shot_near_chance=layers.near_chance(zs_accuracy, zs_examples, choices),
            heads=heads,
            duels={"zero-shot": zs_duel.as_dict(), "fine-tuned": dict(fine_duel.as_dict(), version=fine)},
            duels_on="all labels" if honest is None else "active learning's random slice and earlier labels",
            encoder=self.encoder.served,
        )
        # The newest head serves at once; Label Studio sees a new version only when it is due.
        self.model.set(SERVED_KEY, {**report, **visible_version.publish(self.model, choice.version)})
        return choice.version

    # -- predict -------------------------------------------------------------------------------
    def probabilities(
        self, version: str, control: ControlSpec, embeddings: np.ndarray
    ) -> tuple[np.ndarray, tuple[str, ...]] | None:
        """``(probabilities, labels)`` of ``version``'s light layer for ``control``, or ``None``."""
        if is_instant_version(version):
            store = version_store(self.model.context.data_dir, self.model.project_id)
            meta = store.meta(version) or {}
            for head in meta.get("heads", []):
                if head.get("from_name") == control.from_name:
                    light = load_head(store.root / version / head["file"])
                    if light.multiple == control.multiple:
                        return light.probabilities(embeddings), light.labels
        zs = self.zero_shot_head(control)
        if zs is None or abstain.abstains(self, control) is not None:
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
