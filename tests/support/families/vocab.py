"""Tokenizers of each family's kind, trained in a second on a small corpus with ``tokenizers``.

A family's own transformers tokenizer class (the one its published checkpoints load as) gives the
normalizer, pre-tokenizer and special tokens; only its vocabulary is trained here, with the
matching ``tokenizers`` trainer over that same normalizer and pre-tokenizer. ModernBERT has no
class of its own (its checkpoints ship a ``tokenizer.json``), so its pipeline is written out as
published: byte-level BPE with BERT's special tokens around each text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

#: Small vocabularies: enough for the corpus's words to be one or a few tokens each.
WORDPIECE_SIZE = 700
BPE_SIZE = 700
UNIGRAM_SIZE = 500

BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# SentencePiece-converted vocabularies keep their specials at these ids (XLM-R's unk is id 3).
XLMR_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
ALBERT_SPECIALS = ("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]")
DEBERTA_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
ROBERTA_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
GPT2_SPECIALS = ("<|endoftext|>",)


def _trainable(template: Any, model: Any) -> Tokenizer:
    """A tokenizer with ``template``'s normalizer and pre-tokenizer around an untrained ``model``."""
    backend = Tokenizer(model)
    if template.normalizer is not None:
        backend.normalizer = template.normalizer
    backend.pre_tokenizer = template.pre_tokenizer
    return backend


def _trained_model(backend: Tokenizer, trainer: Any, corpus: Sequence[str]) -> dict[str, Any]:
    backend.train_from_iterator(corpus, trainer)
    return json.loads(backend.to_str())["model"]


def wordpiece(cls: Any, corpus: Sequence[str], specials: Sequence[str], **options: Any) -> Any:
    """A cased BERT WordPiece tokenizer (``BertTokenizer``'s normalizer and pre-tokenizer)."""
    template = cls(do_lower_case=False, **options).backend_tokenizer
    trainer = trainers.WordPieceTrainer(vocab_size=WORDPIECE_SIZE, special_tokens=list(specials))
    backend = _trainable(template, models.WordPiece(unk_token="[UNK]"))
    return cls(vocab=_trained_model(backend, trainer, corpus)["vocab"], do_lower_case=False, **options)


def _bpe(template: Any, corpus: Sequence[str], specials: Sequence[str]) -> tuple[dict[str, int], list]:
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_SIZE,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    trained = _trained_model(_trainable(template, models.BPE()), trainer, corpus)
    return trained["vocab"], [tuple(pair) for pair in trained["merges"]]


def byte_level(cls: Any, corpus: Sequence[str], specials: Sequence[str], **options: Any) -> Any:
    """A byte-level BPE tokenizer of ``cls`` (RoBERTa, GPT-2) with a trained vocabulary and merges."""
    vocab, merges = _bpe(cls(**options).backend_tokenizer, corpus, specials)
    return cls(vocab=vocab, merges=merges, **options)


def unigram(cls: Any, corpus: Sequence[str], specials: Sequence[str], **options: Any) -> Any:
    """A SentencePiece-like Unigram tokenizer of ``cls`` (DeBERTa-v2, XLM-R, ALBERT)."""
    template = cls(**options).backend_tokenizer
    unk = next(token for token in specials if "unk" in token.lower())
    trainer = trainers.UnigramTrainer(vocab_size=UNIGRAM_SIZE, special_tokens=list(specials), unk_token=unk)
    pieces = _trained_model(_trainable(template, models.Unigram()), trainer, corpus)["vocab"]
    return cls(vocab=[(piece, score) for piece, score in pieces], **options)


def modernbert(_cls: Any, corpus: Sequence[str], specials: Sequence[str]) -> Any:
    """ModernBERT's published kind: byte-level BPE (no prefix space), ``[CLS] text [SEP]``."""
    from transformers import PreTrainedTokenizerFast

    template = Tokenizer(models.BPE())
    template.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True)
    vocab, merges = _bpe(template, corpus, specials)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = template.pre_tokenizer
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    names = ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")
    return PreTrainedTokenizerFast(tokenizer_object=backend, **dict(zip(names, specials, strict=True)))


#: How each kind is trained: ``(tokenizer class, corpus, special tokens, **options)`` → tokenizer.
TRAINERS: dict[str, Callable[..., Any]] = {
    "wordpiece": wordpiece, "byte-level": byte_level, "unigram": unigram, "modernbert": modernbert,
}  # fmt: skip
