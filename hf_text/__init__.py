"""Hugging Face machinery shared by the text backends (classification and NER).

A package per concern: ``data`` (what to learn from), ``text`` (windows, batches, length bounds),
``runtime`` (device, loading, back ends, serving), ``training`` (fine-tuning, evaluation, int8),
``instant`` (learning from every annotation). At the top: ``settings`` (environment),
``model_store`` (versioned model folders), ``task`` (the task description a task kind gives the
shared machinery, and what one training run needs) and ``base`` (``HFTextModel``, the shared model
class, which hands its task description to training and instant learning).
"""
