"""Tiny random models of each tokenizer family (BERT, RoBERTa, DeBERTa-v2, XLM-R, DistilBERT, ELECTRA,
ALBERT, ModernBERT, GPT-2), built at test time with their own trained tokenizers, and the texts and
span checks of the family matrix (``tests/ner/test_families.py``, ``tests/classifier/test_families.py``)."""
