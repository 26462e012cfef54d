"""BERT text classification backend for Label Studio (``<Choices>`` over ``<Text>``)."""

from bert_classifier.model import BertClassifier

__all__ = ["BertClassifier"]
