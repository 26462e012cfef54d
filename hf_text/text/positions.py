"""How many tokens a model's position table really holds, from its transformers config.

``max_position_embeddings`` is the table's size, not always its usable length: RoBERTa and the
models built like it number a text's positions from ``padding_idx + 1`` (transformers'
``create_position_ids_from_input_ids``), so ``pad_token_id + 1`` rows are never a token's and a
514-row table takes 512 tokens. Their published tokenizers usually say 512, but one that declares
no limit (``model_max_length`` is transformers' 1e30 sentinel) left windows of 514 tokens that index
past the table. GPT-2 names the table ``n_positions`` (its config maps ``max_position_embeddings``
onto it); ModernBERT's and DeBERTa's ``max_position_embeddings`` are the lengths they were trained at.
"""

from __future__ import annotations

from typing import Any

#: Model types (transformers 5.23) whose embeddings number positions from ``padding_idx + 1``:
#: the text encoders among the modules that define ``create_position_ids_from_input_ids``.
PADDING_OFFSET_TYPES = frozenset(
    {
        "camembert", "data2vec-text", "ibert", "lilt", "longformer", "luke", "markuplm", "mpnet",
        "roberta", "roberta-prelayernorm", "xlm-roberta", "xlm-roberta-xl", "xmod", "layoutlmv3", "esm",
    }
)  # fmt: skip
#: RoBERTa's ``padding_idx``, for a config of such a type that names no pad token.
_ROBERTA_PAD_ID = 1


def position_limit(model_config: Any) -> int | None:
    """The most tokens one input of this model may hold (``None``: its config names no limit)."""
    positions = getattr(model_config, "max_position_embeddings", None)
    if not isinstance(positions, int):
        positions = getattr(model_config, "n_positions", None)
    if not isinstance(positions, int) or positions <= 0:
        return None
    if getattr(model_config, "model_type", None) in PADDING_OFFSET_TYPES:
        pad = getattr(model_config, "pad_token_id", None)
        positions -= (pad if isinstance(pad, int) and pad >= 0 else _ROBERTA_PAD_ID) + 1
    return positions if positions > 0 else None
