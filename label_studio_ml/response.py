"""``ModelResponse``: what ``predict`` may return, compatible with upstream 2.x."""

from __future__ import annotations

from typing import Any

from label_studio_sdk.label_interface.objects import PredictionValue
from pydantic import BaseModel, ConfigDict


class ModelResponse(BaseModel):
    """Predictions for a batch of tasks, one item per task, plus the version that made them."""

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model_version: str | None = None
    predictions: list[PredictionValue | dict[str, Any] | list[Any]]

    def has_model_version(self) -> bool:
        """Whether a version was set on the response."""
        return bool(self.model_version)

    def set_version(self, version: str) -> None:
        """Set the response's version (used when the model did not)."""
        self.model_version = version

    def update_predictions_version(self) -> None:
        """Give every prediction without its own ``model_version`` the response's version."""
        for item in self.predictions:
            if isinstance(item, PredictionValue):
                if not item.model_version:
                    item.model_version = self.model_version
            elif isinstance(item, dict) and not item.get("model_version"):
                item["model_version"] = self.model_version

    def serialize(self) -> list[Any]:
        """The predictions as plain JSON-ready objects."""
        return [item.model_dump() if isinstance(item, PredictionValue) else item for item in self.predictions]
