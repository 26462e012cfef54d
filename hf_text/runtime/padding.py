"""Padding for every tokenizer family: a pad token where a checkpoint ships none, right-side padding.

GPT-2-style checkpoints are published without a pad token, and every batch here is padded (the
training collators, ``TorchRunner``, the sentence encoder): "Asking to pad but the tokenizer does not
have a padding token". Their end-of-sequence token pads instead, the usual fallback, rather than a
new ``[PAD]`` token with the embedding matrix resized:

* pad positions are never read: their attention mask is 0, token-classification labels there are
  -100, and a sequence classifier that pools the last token (``GPT2ForSequenceClassification``)
  finds the last token that is not ``config.pad_token_id``; a GPT-2 tokenizer adds no EOS to a
  text, so no text token is mistaken for padding (measured: a text's logits are the same alone and
  padded in a batch, ``tests/hf_text/test_model_families_runtime.py``);
* the vocabulary and the weights' shapes stay the baseline's: no untrained embedding row, versions
  warm-start from each other and share the baseline's sentence encoder, and the int8 export sees
  the same graph.

``config.pad_token_id`` must name that token on the model (set at load, so it is saved with every
published head). Padding is always on the right: token logits are read back per window from the
start of the padded batch (``hf_text.runtime.backends``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from label_studio_ml.errors import ConfigurationError

logger = logging.getLogger(__name__)


def ready_to_pad(tokenizer: Any, folder: Path) -> Any:
    """``tokenizer`` (of ``folder``) with a pad token and right-side padding; returns it.

    ``ConfigurationError`` when it has neither a pad nor an end-of-sequence token.
    """
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ConfigurationError(
                f"the tokenizer in {folder} has no pad token and no end-of-sequence token to pad "
                "with; add a pad token to it (tokenizer.add_special_tokens) and save it there"
            )
        tokenizer.pad_token = tokenizer.eos_token
        logger.info("the tokenizer in %s has no pad token: padding with %r", folder, tokenizer.eos_token)
    tokenizer.padding_side = "right"
    return tokenizer


def pad_id_on_model(model_config: Any, tokenizer: Any) -> Any:
    """``model_config`` with ``pad_token_id`` set to ``tokenizer``'s where the checkpoint has none."""
    if getattr(model_config, "pad_token_id", None) is None:
        model_config.pad_token_id = tokenizer.pad_token_id
    return model_config
