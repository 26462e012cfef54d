"""The classifier's diversity clusters for active learning (``bert_classifier.light.clusters``).

Tasks of one BBC topic mostly share a cluster, a task keeps its cluster when the pool changes (Label
Studio counts an annotator's clusters across versions), and the centroids live in the project's state.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bert_classifier.light.clusters import CENTROIDS_KEY
from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.support import bbc_news


def make(context: BackendContext) -> BertClassifier:
    settings = HFSettings(max_length=64)
    config = bbc_news.LABEL_CONFIG
    return BertClassifier(project_id="5", label_config=config, context=context, hf_settings=settings)


def test_tasks_of_a_topic_share_a_cluster_and_keep_it_from_round_to_round(tmp_path: Path) -> None:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    articles = bbc_news.articles(per_label=20, max_words=64)  # 100 tasks: 4 clusters
    tasks = [{"id": i, "data": {"text": text}} for i, (text, _) in enumerate(articles)]
    model = make(context)
    found = model.task_clusters(tasks)
    assert found is not None and len(set(found)) == 4 and len(model.get(CENTROIDS_KEY)) == 4
    # Most tasks of a topic in its most common cluster (the 5 topics in 4 clusters: one is shared).
    topics = [topic for _, topic in articles]
    purity = sum(max(Counter(c for c, t in zip(found, topics, strict=True) if t == topic).values())
                 for topic in bbc_news.LABELS) / len(articles)  # fmt: skip
    assert purity >= 0.8, purity

    later = make(context)  # another process, after 30 tasks were labeled and 5 with no text came
    pool = tasks[30:] + [{"id": 500 + i, "data": {"text": ""}} for i in range(5)]
    again = later.task_clusters(pool)
    assert again[:70] == found[30:] and set(again[70:]) == {4}
