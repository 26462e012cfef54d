"""``ModelResponse``: what ``predict`` may return, compatible with upstream 2.x.

Each item of ``predictions`` is one task's prediction (a ``PredictionValue`` or a plain dict with
``result``/``score``), or a list of them: Label Studio stores several predictions per task.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Union

from label_studio_sdk.label_interface.objects import PredictionValue
from pydantic import BaseModel, ConfigDict

#: One task's prediction, or several (upstream's name for it).
SingleTaskPredictions = Union[list[PredictionValue], PredictionValue]  # noqa: UP007 - upstream's alias


class ModelResponse(BaseModel):
    """Predictions for a batch of tasks, one item per task, plus the version that made them."""

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model_version: str | None = None
    predictions: list[PredictionValue | dict[str, Any] | list[Any]]

    def has_model_version(self) -> bool:
        """Whether a version was set on the response."""
        return bool(self.model_version)

    def set_version(self, version: str) -> None:
        """Set the response's version and give it to every prediction that has none of its own."""
        self.model_version = version
        self.update_predictions_version()

    def update_predictions_version(self) -> None:
        """Give every prediction without its own ``model_version`` the response's version."""
        for item in self._each_prediction():
            if isinstance(item, PredictionValue):
                if not item.model_version:
                    item.model_version = self.model_version
            elif not item.get("model_version"):
                item["model_version"] = self.model_version

    def serialize(self) -> list[Any]:
        """One JSON-ready item per task: a prediction dict, or a list of them."""
        return [_plain(item) for item in self.predictions]

    def _each_prediction(self) -> Iterator[PredictionValue | dict[str, Any]]:
        for item in self.predictions:
            if not isinstance(item, list):
                yield item
                continue
            for prediction in item:
                # A list may also be one task's bare list of regions: those are not predictions.
                if isinstance(prediction, PredictionValue) or (
                    isinstance(prediction, dict) and "result" in prediction
                ):
                    yield prediction


def _plain(item: Any) -> Any:
    if isinstance(item, PredictionValue):
        return item.model_dump()
    if isinstance(item, list):
        return [_plain(element) for element in item]
    return item
