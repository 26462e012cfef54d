"""A rule-based NER, written as upstream label-studio-ml 2.x backends are.

Two kinds of rules: built-in patterns (e-mail addresses, ISO dates) named by model labels that
``build_label_map`` maps onto the config's ``<Label>`` values (``predicted_values="EMAIL"`` or the
same name), and a gazetteer learned in ``fit``: every span annotators labeled is found again in new
texts. Offsets are UTF-16 code units, as Label Studio counts them.
"""

from __future__ import annotations

import re
from typing import Any

from label_studio_sdk.label_interface.objects import PredictionValue

from label_studio_ml.model import LabelStudioMLBase
from label_studio_ml.response import ModelResponse

PATTERNS = {
    "EMAIL": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "DATE": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
}


def utf16_offset(text: str, index: int) -> int:
    """Label Studio's offset (UTF-16 code units) of Python index ``index``."""
    return len(text[:index].encode("utf-16-le")) // 2


def python_index(text: str, offset: int) -> int:
    """The Python index of Label Studio's UTF-16 ``offset``."""
    return len(text.encode("utf-16-le")[: offset * 2].decode("utf-16-le"))


class RuleNER(LabelStudioMLBase):
    """Finds pattern matches and previously annotated spans."""

    def predict(self, tasks: list[dict[str, Any]], context: dict[str, Any] | None = None, **kwargs: Any):
        from_name, to_name, value = self.get_first_tag_occurence("Labels", "Text")
        pattern_labels = self.build_label_map(from_name, list(PATTERNS))
        gazetteer: dict[str, str] = self.get("gazetteer") or {}
        predictions = []
        for task in tasks:
            text = self.preload_task_data(task, (task.get("data") or {}).get(value))
            if not isinstance(text, str):
                predictions.append(PredictionValue(result=[], score=0.0))
                continue
            spans = [
                (m.start(), m.end(), pattern_labels[name])
                for name, pattern in PATTERNS.items()
                if name in pattern_labels
                for m in pattern.finditer(text)
            ]
            for surface, label in gazetteer.items():
                spans += [
                    (m.start(), m.end(), label) for m in re.finditer(rf"\b{re.escape(surface)}\b", text)
                ]
            result = [
                {
                    "from_name": from_name,
                    "to_name": to_name,
                    "type": "labels",
                    "value": {
                        "start": utf16_offset(text, start),
                        "end": utf16_offset(text, end),
                        "text": text[start:end],
                        "labels": [label],
                    },
                }
                for start, end, label in sorted(set(spans))
            ]
            predictions.append(PredictionValue(result=result, score=1.0 if result else 0.0))
        return ModelResponse(predictions=predictions)

    def fit(self, event: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        from_name, _, value = self.get_first_tag_occurence("Labels", "Text")
        gazetteer: dict[str, str] = {}
        for task in self.labeled_tasks():
            text = self.preload_task_data(task, task["data"].get(value))
            if not isinstance(text, str):
                continue
            for region in task["annotations"][-1].get("result", []):
                if region.get("from_name") != from_name:
                    continue
                start, end = (
                    python_index(text, region["value"]["start"]),
                    python_index(text, region["value"]["end"]),
                )
                gazetteer[text[start:end]] = region["value"]["labels"][0]
        self.set("gazetteer", gazetteer)
        return {"entries": len(gazetteer)}
