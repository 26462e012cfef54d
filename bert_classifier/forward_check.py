"""The forward check of a fine-tuned version: did it predict labels it was never trained on?

When a label arrives, the instant layer asks whether the newest fine-tuned version got it right
(``bert_classifier.instant``); those outcomes decide, next to the instant head's own, which layer
serves (``bert_classifier.light.layers``). The instant layer builds on the fine-tuned version
here, through the shared serving path (``HFTextModel.serving_heads``, ``load_serving``) and the
classification task (``bert_classifier.task``); fine-tuning never calls the instant layer.
"""

from __future__ import annotations

from typing import Any

from bert_classifier.task import ChoicesTask
from hf_text.base import HFTextModel
from hf_text.data.annotations import annotation_time
from hf_text.data.controls import ControlSpec, Example
from hf_text.data.trained_on import example_key, read_record


def fine_tuned_correct(
    model: HFTextModel, task: ChoicesTask, version: str, control: ControlSpec, examples: list[tuple[str, Any]]
) -> list[float | None]:
    """Whether fine-tuned ``version`` of ``model``'s project predicts each ``(text, target)`` exactly;
    ``None`` where it has no head for ``control``, or was trained on that very example (not a
    forward check)."""
    for serving in model.serving_heads(version):
        if serving.control.from_name == control.from_name:
            seen = read_record(serving.folder) or frozenset()
            undated = annotation_time({})  # an example's key is its text and target only
            keys = [example_key(Example(text, frozenset(target), undated)) for text, target in examples]
            loaded = model.load_serving(serving, version)
            rows = task.probabilities(loaded, [text for text, _ in examples], serving.head)
            decided = [frozenset(task.decide(row, control, serving.head)[0]) for row in rows]
            return [
                None if key in seen else float(chosen == frozenset(target))
                for chosen, key, (_, target) in zip(decided, keys, examples, strict=True)
            ]
    return [None for _ in examples]
