"""A text classifier on scikit-learn, written as upstream label-studio-ml 2.x backends are.

TF-IDF + logistic regression over ``<Choices>`` for a ``<Text>``; text given by URL (uploads, cloud
storage) is read with ``preload_task_data``. It pins its version in ``setup()`` as upstream's examples
do; the server publishes a new one after each training.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

from label_studio_sdk.label_interface.objects import PredictionValue
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from label_studio_ml.errors import BackendError
from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.response import ModelResponse
from label_studio_ml.utils import DATA_UNDEFINED_NAME

logger = logging.getLogger(__name__)


class SklearnTextClassifier(LabelStudioMLBase):
    """Predicts one ``<Choice>`` per task; learns from every labeled task of the project."""

    def setup(self) -> None:
        self.set("model_version", f"{type(self).__name__}-v0.0.1")

    def _config(self) -> tuple[str, str, str]:
        return self.get_first_tag_occurence("Choices", "Text")

    def _pickle(self) -> Path:
        return Path(os.getenv("MODEL_DIR", ".")) / f"sklearn-{self.project_id}.pkl"

    def _text(self, task: dict[str, Any], value: str) -> str | None:
        data = task.get("data") or {}
        try:
            return self.preload_task_data(task, data.get(value) or data.get(DATA_UNDEFINED_NAME))
        except BackendError as exc:  # one unreadable task must not fail the batch
            logger.warning("task %s: text not readable: %s", task.get("id"), exc.message)
            return None

    def predict(self, tasks: list[dict[str, Any]], context: dict[str, Any] | None = None, **kwargs: Any):
        from_name, to_name, value = self._config()
        pipeline: Pipeline | None = None
        if self._pickle().is_file():
            with self._pickle().open("rb") as file:
                pipeline = pickle.load(file)
        label_map = self.build_label_map(from_name, list(pipeline.classes_)) if pipeline else {}
        predictions = []
        for task in tasks:
            text = self._text(task, value)
            if pipeline is None or not text:
                predictions.append(PredictionValue(result=[], score=0.0))
                continue
            probabilities = pipeline.predict_proba([text])[0]
            best = int(probabilities.argmax())
            label = label_map.get(pipeline.classes_[best])
            result = [
                {"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": [label]}}
            ]
            predictions.append(
                PredictionValue(result=result if label else [], score=float(probabilities[best]))
            )
        return ModelResponse(predictions=predictions)

    def fit(self, event: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        from_name, _, value = self._config()
        texts, labels = [], []
        for task in self.labeled_tasks():
            annotation = task["annotations"][-1]
            choices = [
                r["value"]["choices"][0] for r in annotation.get("result", []) if r["from_name"] == from_name
            ]
            text = self._text(task, value)
            if choices and text and not annotation.get("was_cancelled"):
                texts.append(text)
                labels.append(choices[0])
        if len(set(labels)) < 2:
            logger.info("project %s: need two labels to train, have %s", self.project_id, sorted(set(labels)))
            return None
        pipeline = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(C=10, max_iter=1000))
        pipeline.fit(texts, labels)
        partial = self._pickle().with_suffix(".part")
        with partial.open("wb") as file:
            pickle.dump(pipeline, file)
        os.replace(partial, self._pickle())  # workers predicting meanwhile read the old or the new one
        return {"examples": len(texts), "labels": sorted(set(labels))}
