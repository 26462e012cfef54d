"""A tiny custom model written the upstream way, used to test the serving core.

It "learns" which words go with which choice from the annotations it is sent, so training has
an observable effect, and it can be told (through environment variables) to train slowly, fail,
or log and fail with its secrets in the message (to test redaction), or wait in ``fit`` while a
gate file exists (to kill a process in the middle of a training).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.response import ModelResponse

logger = logging.getLogger(__name__)


class KeywordModel(LabelStudioMLBase):
    """Predicts the choice whose learned words occur most in the text."""

    def setup(self) -> None:
        self.set("setup_calls", (self.get("setup_calls") or 0) + 1)
        if os.environ.get("KEYWORD_LOG_SECRETS"):
            access = self.context.label_studio_for(self.project_id)
            logger.info(
                "basic auth password is %s; Label Studio token is %s",
                os.environ.get("BASIC_AUTH_PASS"),
                access.api_key if access else None,
            )

    def predict(self, tasks: list[dict[str, Any]], context: dict[str, Any] | None = None, **kwargs: Any):
        from_name, to_name, value = self.label_interface.get_first_tag_occurence("Choices", "Text")
        words: dict[str, str] = self.get("words") or {}
        predictions = []
        for task in tasks:
            text = (task.get("data") or {}).get(value)
            votes: dict[str, int] = {}
            for word in str(text or "").lower().split():
                if word in words:
                    votes[words[word]] = votes.get(words[word], 0) + 1
            if not votes:
                predictions.append({"result": [], "score": 0.0})
                continue
            label = max(sorted(votes), key=votes.__getitem__)
            result = [
                {"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": [label]}}
            ]
            predictions.append({"result": result, "score": votes[label] / sum(votes.values())})
        return ModelResponse(predictions=predictions)

    def fit(self, event: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if os.environ.get("KEYWORD_FIT_FAIL"):
            raise RuntimeError("training failed on purpose")
        if os.environ.get("KEYWORD_FIT_LEAK"):
            access = self.label_studio()
            logger.info("calling Label Studio with token %s", access.api_key)
            raise RuntimeError(f"Label Studio at {access.url} refused token {access.api_key}")
        gate = os.environ.get("KEYWORD_FIT_GATE")
        deadline = time.monotonic() + 120
        while gate and Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the test holds the training here until it removes the file
        seconds = float(os.environ.get("KEYWORD_FIT_SECONDS", "0"))
        for step in range(3):
            time.sleep(seconds / 3)
            self.report_progress(step=step + 1, loss=1.0 / (step + 1))
        words = dict(self.get("words") or {})
        for text, label in self._examples():
            for word in text.lower().split():
                words[word] = label
        self.set("words", words)
        self.set("fits", (self.get("fits") or 0) + 1)
        return {"vocabulary": len(words)}

    def _examples(self) -> list[tuple[str, str]]:
        # Tests hand labeled tasks over in a file; in real use they come from Label Studio.
        path = os.environ.get("KEYWORD_TRAINING_FILE")
        tasks = json.loads(Path(path).read_text()) if path else self.labeled_tasks()
        _, _, value = self.label_interface.get_first_tag_occurence("Choices", "Text")
        examples = []
        for task in tasks:
            for annotation in task.get("annotations", []):
                for region in annotation.get("result", []):
                    examples.append((task["data"][value], region["value"]["choices"][0]))
        return examples
