"""Tiny random models of each family, saved as a folder ``BASELINE_MODEL_NAME`` can name.

Each base folder holds a bare encoder (``AutoModel``: the backends add and initialise their head
at load) and its family's tokenizer (``tests.support.families.vocab``). Hidden size 64, 2 layers,
4 heads and 64 positions: a text of a few sentences already needs several windows, and a model
trains in seconds. RoBERTa and XLM-R count positions from ``padding_idx + 1`` (two more
embeddings) and, like many of their checkpoints, their tokenizers declare no length limit; the
others declare their position limit as published checkpoints do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import transformers

from tests.support.families import vocab
from tests.support.families.data import corpus

POSITIONS = 64
_SIZE = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128}


@dataclass(frozen=True)
class Family:
    """One model family: its transformers ``model_type``, config sizes and tokenizer kind."""

    name: str
    model_type: str
    #: ``vocab.TRAINERS`` key: ``wordpiece``, ``byte-level``, ``unigram`` or ``modernbert``.
    tokenizer_kind: str
    #: The family's transformers tokenizer class, its special tokens (vocabulary order) and options.
    tokenizer_class: str = ""
    specials: tuple[str, ...] = vocab.BERT_SPECIALS
    tokenizer_options: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=lambda: dict(_SIZE))
    #: Embeddings before the first position (RoBERTa's ``padding_idx + 1``).
    position_offset: int = 0
    #: Whether the tokenizer declares ``model_max_length`` (published RoBERTa/XLM-R ones often do not).
    declares_length: bool = True

    def train_tokenizer(self, texts: list[str]) -> Any:
        """A tokenizer of this family's kind, its vocabulary trained on ``texts``."""
        cls = getattr(transformers, self.tokenizer_class) if self.tokenizer_class else None
        return vocab.TRAINERS[self.tokenizer_kind](cls, texts, self.specials, **self.tokenizer_options)


_ROBERTA_LIKE = {"config": {**_SIZE, "type_vocab_size": 1}, "position_offset": 2, "declares_length": False}
_DEBERTA_V3 = {"relative_attention": True, "position_biased_input": False, "pos_att_type": ["p2c", "c2p"],
               "position_buckets": 32, "norm_rel_ebd": "layer_norm", "share_att_key": True}  # fmt: skip

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("bert-cased", "bert", "wordpiece", "BertTokenizer"),
        Family("distilbert", "distilbert", "wordpiece", "BertTokenizer",
               config={"dim": 64, "n_layers": 2, "n_heads": 4, "hidden_dim": 128}),
        Family("electra", "electra", "wordpiece", "BertTokenizer", config={**_SIZE, "embedding_size": 64}),
        Family("roberta", "roberta", "byte-level", "RobertaTokenizer", vocab.ROBERTA_SPECIALS,
               {"add_prefix_space": True}, **_ROBERTA_LIKE),
        Family("xlm-roberta", "xlm-roberta", "unigram", "XLMRobertaTokenizer", vocab.XLMR_SPECIALS,
               **_ROBERTA_LIKE),
        Family("deberta-v2", "deberta-v2", "unigram", "DebertaV2Tokenizer", vocab.DEBERTA_SPECIALS,
               config={**_SIZE, **_DEBERTA_V3}),
        Family("albert", "albert", "unigram", "AlbertTokenizer", vocab.ALBERT_SPECIALS,
               config={**_SIZE, "embedding_size": 32}),
        Family("modernbert", "modernbert", "modernbert",
               config={**_SIZE, "local_attention": 16, "global_attn_every_n_layers": 2}),
        Family("gpt2", "gpt2", "byte-level", "GPT2Tokenizer", vocab.GPT2_SPECIALS,
               config={"n_embd": 64, "n_layer": 2, "n_head": 4}),
    )
}  # fmt: skip


def _special_ids(tokenizer: Any) -> dict[str, int]:
    """The config's special token ids, from the tokenizer (GPT-2 as published: no pad token)."""
    first = {"bos": ("bos", "cls"), "eos": ("eos", "sep"), "pad": ("pad",), "cls": ("cls",), "sep": ("sep",)}
    ids = {}
    for name, sources in first.items():
        found = [getattr(tokenizer, f"{source}_token_id") for source in sources]
        ids[f"{name}_token_id"] = next((value for value in found if value is not None), None)
    return {name: value for name, value in ids.items() if value is not None}


def model_config(family: Family, tokenizer: Any, **extra: Any) -> Any:
    """The family's tiny config for ``tokenizer``'s vocabulary (``extra``: labels of a head)."""
    positions = POSITIONS + family.position_offset
    return transformers.AutoConfig.for_model(
        family.model_type, vocab_size=len(tokenizer), max_position_embeddings=positions,
        **_special_ids(tokenizer), **family.config, **extra,
    )  # fmt: skip


def _tokenizer(family: Family) -> Any:
    tokenizer = family.train_tokenizer(corpus())
    if family.declares_length:
        tokenizer.model_max_length = POSITIONS
    return tokenizer


def save_base(family: Family, folder: Path) -> Path:
    """A bare random encoder of ``family`` and its tokenizer in ``folder``."""
    torch.manual_seed(0)
    tokenizer = _tokenizer(family)
    transformers.AutoModel.from_config(model_config(family, tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_token_classifier(family: Family, folder: Path, id2label: Mapping[int, str], favourite: str) -> Path:
    """A token classifier of ``family`` whose head always prefers ``favourite`` (weights 0, a bias)."""
    torch.manual_seed(0)
    tokenizer = _tokenizer(family)
    labels = {"id2label": dict(id2label), "label2id": {name: index for index, name in id2label.items()}}
    model = transformers.AutoModelForTokenClassification.from_config(
        model_config(family, tokenizer, **labels)
    )
    with torch.no_grad():
        head = model.classifier  # every family's token head is called so
        head.weight.zero_()
        head.bias.zero_()
        head.bias[next(index for index, name in id2label.items() if name == favourite)] = 5.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


class FamilyModels:
    """Model folders of every family, built on first use under ``root`` and kept for the session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._built: dict[tuple[str, str], Path] = {}

    def _once(self, key: tuple[str, str], build: Callable[[Path], Path]) -> Path:
        with self._lock:
            if key not in self._built:
                self._built[key] = build(self.root / "-".join(key))
            return self._built[key]

    def base(self, name: str) -> Path:
        """The folder of ``name``'s bare encoder (``BASELINE_MODEL_NAME``)."""
        return self._once((name, "base"), lambda folder: save_base(FAMILIES[name], folder))

    def token_classifier(self, name: str, id2label: Mapping[int, str], favourite: str) -> Path:
        """The folder of ``name``'s token classifier with labels ``id2label``, favouring ``favourite``."""
        key = (name, "ner-" + "-".join(id2label.values()).replace("/", "_") + "-" + favourite)
        return self._once(
            key, lambda folder: save_token_classifier(FAMILIES[name], folder, id2label, favourite)
        )
