"""Whether the int8 sentence encoder may stand in for fp32: every checked text's embedding within a
cosine of 0.99 of fp32's.

Checked on a fixed sample when the encoder opens (texts of the kinds projects label: news, posts,
reviews, the label prompts zero-shot embeds) and again on the first texts a process is asked to
embed, so the check also sees the project's own language and lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The smallest cosine between an int8 and an fp32 embedding of one text that int8 may serve with.
MIN_COSINE = 0.99
#: How many of the first texts a process embeds are checked as well.
FIRST_TEXTS = 16

SAMPLE_TEXTS = (
    "A short text.",
    "Shares in the carmaker fell sharply after it warned that profits would miss forecasts this year.",
    "The striker scored twice in the second half to send the home side top of the league.",
    "The government announced new rules on data protection, to take effect next spring.",
    "just landed in lisbon, the weather is amazing and the food even better!!",
    "worst customer service ever. waited 2 hours and nobody picked up the phone",
    "The battery lasts two days, but the screen scratches easily and the camera is mediocre.",
    "This text is about sport.",
    "Der Zug nach Berlin hat heute wieder eine Stunde Verspätung.",
    "Q3 revenue: $4.2bn (+12% y/y); guidance raised to $17bn for FY2025.",
    "The film's plot drags in the middle, yet the final act and its soundtrack are unforgettable. " * 6,
)


@dataclass(frozen=True)
class Agreement:
    """How int8 embeddings of ``texts`` compare with fp32's: the smallest cosine and its text."""

    texts: int
    min_cosine: float
    worst_text: str

    @property
    def passed(self) -> bool:
        """Every text within ``MIN_COSINE``."""
        return self.min_cosine >= MIN_COSINE

    def why_not(self) -> str:
        """The reason int8 failed, for logs and ``/metrics``."""
        return (f"int8 embeddings differ from fp32's: cosine {self.min_cosine:.4f} < {MIN_COSINE} on "
                f"{self.worst_text[:60]!r}")  # fmt: skip


def agreement(texts: list[str], fp32: np.ndarray, int8: np.ndarray) -> Agreement:
    """Compare unit vectors row by row (their dot products are their cosines)."""
    cosines = np.sum(np.asarray(fp32, dtype=np.float64) * np.asarray(int8, dtype=np.float64), axis=1)
    worst = int(np.argmin(cosines))
    return Agreement(texts=len(texts), min_cosine=float(cosines[worst]), worst_text=texts[worst])
