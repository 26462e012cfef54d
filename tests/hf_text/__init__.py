"""Tests of the shared Hugging Face machinery (hf_text)."""
