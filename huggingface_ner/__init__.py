"""Hugging Face NER backend for Label Studio (``<Labels>`` over ``<Text>``)."""

from huggingface_ner.model import HuggingFaceNER

__all__ = ["HuggingFaceNER"]
