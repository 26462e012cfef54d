"""Named entities of ``<Labels>`` as a task description (``hf_text.task.TextTask``).

One BIO tag per word (our words, ``huggingface_ner.words``, read from their first piece); long
texts in overlapping windows, each word taken from the window where it is most central. Offsets go
to and from Label Studio in UTF-16 code units. A region's score is the mean probability of its
words' tags; a task's is the mean of its regions' scores, or, with no region, the mean probability
of the words' ``O`` tags (how sure the model is that there is nothing).
"""

from __future__ import annotations

from typing import Any

from hf_text.data.controls import ControlSpec, Example
from hf_text.runtime.device import pad_multiple
from hf_text.runtime.loader import TOKEN_CLASSIFICATION, LoadedModel
from hf_text.runtime.serving import Prediction
from hf_text.task import TaskBase
from hf_text.text.windows import window_length
from huggingface_ner.attributes.controls import region_choices
from huggingface_ner.bio import Span, WordTag, decode_spans, text_score
from huggingface_ner.dataset import align_texts, training_rows
from huggingface_ner.evaluation import entity_metrics
from huggingface_ner.labels import ConfigLabel, LabelMap, bio_labels
from huggingface_ner.regions import Target, regions_from_spans, spans_from_results
from huggingface_ner.tagging import WindowSpec, tag_windows


class SpansTask(TaskBase):
    """What the shared machinery needs to train, evaluate and serve a ``<Labels>`` head."""

    TASK_KIND = TOKEN_CLASSIFICATION
    HEADLINE_METRIC = "f1"

    # -- labels --------------------------------------------------------------------------------
    def label_map(self, control: ControlSpec) -> LabelMap:
        """The control's labels with their aliases and ``predicted_values``, in config order."""
        attrs = control.label_attrs
        return LabelMap(ConfigLabel.from_attrs(label, attrs.get(label, {})) for label in control.labels)

    def model_labels(self, control: ControlSpec) -> list[str]:
        """``O``, then ``B-x`` and ``I-x`` for each config label in config order."""
        return bio_labels(control.labels)

    def head_matches(self, head: dict[str, Any], control: ControlSpec) -> bool:
        """A head serves while at least one of its entity types is still in the config."""
        return self.label_map(control).covers(head.get("labels", []))

    # -- training ------------------------------------------------------------------------------
    def results_of(self, annotation: dict[str, Any], control: ControlSpec) -> list[dict[str, Any]]:
        """The annotation's results on the control's object: its regions and their per-region choices."""
        results = annotation.get("result") or []
        return [item for item in results if isinstance(item, dict) and item.get("to_name") == control.to_name]

    def target_from_results(
        self, results: list[dict[str, Any]], text: str, control: ControlSpec
    ) -> Any | None:
        """The annotation's spans, each with its per-region choices; ``[]`` teaches "no entity",
        ``None`` skips a task whose regions all carry labels the config no longer has."""
        own = [result for result in results if result.get("from_name") == control.from_name]
        spans = spans_from_results(text, own, control.label_for, region_choices(results), control.object_tag)
        if not spans and any(result.get("type") == (control.tag or "Labels").lower() for result in own):
            return None
        return spans

    def training_rows(
        self,
        tokenizer: Any,
        examples: list[Example],
        control: ControlSpec,
        labels: list[str],
        max_length: int,
    ) -> list[dict[str, Any]]:
        """One row per window, labels on each word's first piece, exactly as inference cuts the text."""
        spec = WindowSpec(max_length, self.settings.window_stride)
        aligned = align_texts(spec.split(tokenizer, [e.text for e in examples]), [e.target for e in examples])
        return training_rows(aligned, {label: index for index, label in enumerate(labels)})

    def collator(self, tokenizer: Any) -> Any:
        """Pads inputs and label ids (with -100) to each batch's longest row."""
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=pad_multiple(self.device))

    def evaluate(
        self, loaded: LoadedModel, examples: list[Example], control: ControlSpec, head: dict[str, Any]
    ) -> dict[str, Any]:
        """Entity-level P/R/F1 (micro and per label) on held-out texts, through the inference path."""
        spec = self.window_spec(head, loaded)
        aligned = align_texts(
            spec.split(loaded.tokenizer, [e.text for e in examples]), [e.target for e in examples]
        )
        id2tag = self.label_map(control).tags_for(loaded.config.id2label)
        words = tag_windows(loaded, [item.text for item in aligned], self.token_budget, id2tag)
        predicted = [item.names_of(tagged) for item, tagged in zip(aligned, words, strict=True)]
        return entity_metrics([item.gold_names() for item in aligned], predicted)

    # -- inference -----------------------------------------------------------------------------
    def window_spec(self, head: dict[str, Any], loaded: LoadedModel) -> WindowSpec:
        """The windows a head was trained with, within its model's positions (a head published before
        position limits were known may have recorded a length its position table cannot hold)."""
        stride = int(head.get("window_stride", self.settings.window_stride))
        return WindowSpec(window_length(loaded.tokenizer, loaded.config, int(head["max_length"])), stride)

    def predict_texts(
        self, loaded: LoadedModel, texts: list[str], control: ControlSpec, head: dict[str, Any]
    ) -> list[Prediction]:
        """``labels`` regions (UTF-16 offsets) and a score for each text."""
        target = Target.of(control)
        tagged = self.predict_spans(loaded, texts, control, head)
        return [
            (regions_from_spans(text, spans, target), text_score(spans, words))
            for text, (spans, words) in zip(texts, tagged, strict=True)
        ]

    def predict_spans(
        self, loaded: LoadedModel, texts: list[str], control: ControlSpec, head: dict[str, Any]
    ) -> list[tuple[list[Span], list[WordTag]]]:
        """Each text's entity spans (code points) and its words' tags."""
        spec = self.window_spec(head, loaded)
        id2tag = self.label_map(control).tags_for(loaded.config.id2label)
        tagged = tag_windows(loaded, spec.split(loaded.tokenizer, texts), self.token_budget, id2tag)
        return [(decode_spans(words), words) for words in tagged]
