"""Label Studio's task queue, driven through its API: the unlabeled pool, predictions, sampling.

What Label Studio 1.23.2 does with them (its open-source ``projects/functions/next_task.py``): with
a project's ``sampling`` set to ``"Uncertainty sampling"``, "Label All Tasks" hands out the unlabeled
task with the lowest prediction ``score`` among those with a prediction of the project's
``model_version``, preferring the prediction ``cluster`` the annotator has labeled least. A
prediction's ``cluster`` survives only ``POST /api/predictions/`` (the bulk import drops it), and a
``null`` cluster counts as "never labeled": so every prediction written here carries one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from label_studio_ml.studio.client import LabelStudioAccess, as_dict, read_failure

logger = logging.getLogger(__name__)

#: The ``sampling`` value that makes "Label All Tasks" follow prediction scores (exactly this string).
UNCERTAINTY_SAMPLING = "Uncertainty sampling"


@dataclass(frozen=True)
class QueuedPrediction:
    """One prediction written for the queue: the task, its result, score and diversity cluster."""

    task: int
    result: list[dict[str, Any]]
    score: float
    cluster: int


class TaskQueue:
    """One project's queue in its Label Studio (``access``: the pinned URL and token)."""

    def __init__(self, access: LabelStudioAccess, project: int) -> None:
        self.access = access
        self.project = project

    def pool(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` tasks nobody has labeled, with their data (``access.unlabeled_tasks``)."""
        return self.access.unlabeled_tasks(self.project, limit)

    def write(self, version: str, predictions: list[QueuedPrediction]) -> None:
        """Store ``predictions`` under ``version``, one request each (the only way to keep ``cluster``)."""
        client = self.access.client()
        try:
            for item in predictions:
                client.predictions.create(
                    task=item.task, result=item.result, score=item.score, cluster=item.cluster,
                    model_version=version,
                )  # fmt: skip
        except Exception as exc:
            doing = f"could not write predictions of {version} to project {self.project}"
            raise read_failure(exc, doing) from exc

    def sampling(self) -> str | None:
        """The project's current ``sampling``."""
        try:
            project = as_dict(self.access.client().projects.get(id=self.project))
        except Exception as exc:
            raise read_failure(exc, f"could not read project {self.project}") from exc
        return project.get("sampling")

    def point_to(self, version: str | None = None, sampling: str | None = None) -> None:
        """Set the project's ``model_version`` (Label Studio refuses one without predictions) and/or
        its ``sampling``. Label Studio calls this backend's ``/webhook`` before it answers."""
        changes = (("model_version", version), ("sampling", sampling))
        fields = {name: value for name, value in changes if value}
        try:
            self.access.client().projects.update(id=self.project, **fields)
        except Exception as exc:
            raise read_failure(exc, f"could not update project {self.project} ({', '.join(fields)})") from exc

    def drop_version(self, version: str) -> None:
        """Delete the predictions of ``version`` (an older queue version nothing shows any more)."""
        client = self.access.client()
        try:  # the SDK has no method for this endpoint; its HTTP client carries the token
            response = client._client_wrapper.httpx_client.request(
                f"api/projects/{self.project}/model-versions/", method="DELETE",
                json={"model_version": version},
            )  # fmt: skip
        except Exception as exc:
            raise read_failure(exc, f"could not delete predictions of {version}") from exc
        if response.status_code >= 400:
            status = response.status_code
            logger.warning("project %s: deleting %s's predictions answered %s", self.project, version, status)
