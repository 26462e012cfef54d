"""Hugging Face machinery shared by the text backends (classification and NER).

One module per concern: ``settings`` (environment), ``resolve`` (baseline model folder),
``device`` (device and precision), ``batching`` (token-budget batches), ``windows`` (overlapping
token windows), ``loader`` (model cache), ``inference`` (forward passes), ``trainer`` (HF Trainer
wrapper), ``store`` (versioned model folders), ``annotations`` and ``controls`` (what to learn
from), ``split`` and ``metrics`` (validation), ``offsets`` (UTF-16 offsets) and ``base``
(``HFTextModel``, the shared model class).
"""
