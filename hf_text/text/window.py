"""One model input: a window of a text's tokens.

``hf_text.text.windows`` cuts them and ``hf_text.text.token_cache`` keeps them; both import this
module, so neither imports the other's back (``windows`` uses the cache).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """One model input: a slice of text ``text_index`` with its special tokens."""

    text_index: int
    input_ids: list[int]
    attention_mask: list[int]
    token_type_ids: list[int] | None
    offsets: list[tuple[int, int]]
    """Code-point ``(start, end)`` of each token in its text; ``(0, 0)`` for special tokens."""
    special: list[bool]
    """True for tokens that belong to no text (``[CLS]``, ``[SEP]``, ...)."""
    word_ids: list[int | None]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def content_length(self) -> int:
        """How many of the text's tokens this window carries."""
        return len(self.special) - sum(self.special)

    def features(self) -> dict[str, list[int]]:
        """The model inputs, ready for a padding collator."""
        row = {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
        if self.token_type_ids is not None:
            row["token_type_ids"] = self.token_type_ids
        return row
