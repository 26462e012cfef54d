"""Diversity clusters of a project's tasks for active learning: k-means on their sentence embeddings.

Label Studio's uncertainty sampling prefers the prediction ``cluster`` an annotator has labeled
least, counting the clusters of the tasks they labeled (any version's predictions of them): so a
task must keep its cluster from one version to the next. The centroids are found once per project,
on the pool of its first round (scikit-learn's k-means, seeded), kept in the project's state, and
every later task goes to its nearest centroid. A task with no text has a cluster of its own.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

#: About this many tasks per cluster, and at most ``MAX_CLUSTERS``: enough to spread an annotator's
#: first labels over the project's themes, few enough that each cluster holds many tasks.
TASKS_PER_CLUSTER = 25
MAX_CLUSTERS = 16
#: State key of the project's centroids.
CENTROIDS_KEY = "active_learning_centroids"


def cluster_count(tasks: int) -> int:
    """How many clusters a pool of ``tasks`` is cut into."""
    return int(min(MAX_CLUSTERS, max(1, tasks // TASKS_PER_CLUSTER)))


def fit_centroids(embeddings: np.ndarray) -> np.ndarray:
    """Unit-length k-means centroids of ``embeddings`` (L2-normalised rows), the same for the same rows."""
    count = min(cluster_count(len(embeddings)), len(embeddings))
    centres = KMeans(n_clusters=count, n_init=4, random_state=0).fit(embeddings).cluster_centers_
    return centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)


def nearest(embeddings: np.ndarray, centroids: np.ndarray) -> list[int]:
    """Each embedding's nearest centroid (cosine: both are unit length)."""
    return [int(index) for index in np.argmax(embeddings @ centroids.T, axis=1)]


def usable(stored: object, dimensions: int) -> np.ndarray | None:
    """The stored centroids, if they are centroids of embeddings of this size (another baseline
    model makes other embeddings: its centroids are found anew)."""
    if not isinstance(stored, list) or not stored:
        return None
    centroids = np.asarray(stored, dtype=np.float32)
    return centroids if centroids.ndim == 2 and centroids.shape[1] == dimensions else None
