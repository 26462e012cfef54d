"""Tests of the NER backend (huggingface_ner)."""
