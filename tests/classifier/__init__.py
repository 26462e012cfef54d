"""Tests of the text classifier backend (bert_classifier)."""
