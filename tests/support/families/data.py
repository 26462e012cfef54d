"""What the family matrix trains and predicts on: NER sentences written to trip word alignment
(emoji sequences, accents with combining marks, tabs, newlines, double spaces, punctuation next
to entities), sentiment texts, and the corpus the families' tokenizers are trained on."""

from __future__ import annotations

from typing import Any

#: Each sentence with its entities (surface, label), in text order; a surface is found left to right.
SENTENCES: list[tuple[str, list[tuple[str, str]]]] = [
    ("👩‍👩‍👧 Angela Merkel visited Berlin.", [("Angela Merkel", "PER"), ("Berlin", "LOC")]),
    ("Satya Nadella leads (Microsoft) from Seattle.",
     [("Satya Nadella", "PER"), ("Microsoft", "ORG"), ("Seattle", "LOC")]),
    ("🇩🇪 Olaf Scholz met Emmanuel Macron in Paris, France.",
     [("Olaf Scholz", "PER"), ("Emmanuel Macron", "PER"), ("Paris", "LOC"), ("France", "LOC")]),
    ("José Müller joined Siemens\tin München 👍🏽",
     [("José Müller", "PER"), ("Siemens", "ORG"), ("München", "LOC")]),
    ("Me\u0301lanie Dubois lives in Montréal.\nShe works for Ubisoft.",
     [("Me\u0301lanie Dubois", "PER"), ("Montréal", "LOC"), ("Ubisoft", "ORG")]),
    ("Marie  Curie studied in Warsaw  and Paris.",
     [("Marie  Curie", "PER"), ("Warsaw", "LOC"), ("Paris", "LOC")]),
    ("The Olympics opened in Tokyo 🎉 with Naomi Osaka.",
     [("Olympics", "MISC"), ("Tokyo", "LOC"), ("Naomi Osaka", "PER")]),
    ("Yahoo! bought Tumblr from David Karp.", [("Yahoo!", "ORG"), ("Tumblr", "ORG"), ("David Karp", "PER")]),
    ("Coca-Cola sponsors the World Cup in Qatar.",
     [("Coca-Cola", "ORG"), ("World Cup", "MISC"), ("Qatar", "LOC")]),
    ("Zoë Kravitz and Björk sang in Reykjavík.",
     [("Zoë Kravitz", "PER"), ("Björk", "PER"), ("Reykjavík", "LOC")]),
    ("\tAda Lovelace wrote to Charles Babbage in London.",
     [("Ada Lovelace", "PER"), ("Charles Babbage", "PER"), ("London", "LOC")]),
    ("Alan Turing worked at Bletchley Park near Milton Keynes 👩‍💻.",
     [("Alan Turing", "PER"), ("Bletchley Park", "LOC"), ("Milton Keynes", "LOC")]),
    ("Nokia is based in Espoo, Finland; Spotify in Stockholm.",
     [("Nokia", "ORG"), ("Espoo", "LOC"), ("Finland", "LOC"), ("Spotify", "ORG"), ("Stockholm", "LOC")]),
]  # fmt: skip

#: Sentiment texts: a word decides, accents and emoji around it.
SENTIMENT: list[tuple[str, str]] = [
    ("I love this café 😍", "positive"),
    ("What a wonderful day in Paris!", "positive"),
    ("Great service,\tgreat food.", "positive"),
    ("Excellent work, José 👍🏽", "positive"),
    ("Happy  and delighted with it.", "positive"),
    ("Superb!\nPerfect in every way.", "positive"),
    ("I hate waiting in line 😡", "negative"),
    ("An awful, terrible experience.", "negative"),
    ("The screen arrived broken.", "negative"),
    ("Dreadful service at the hôtel.", "negative"),
    ("Sad  and disappointed again.", "negative"),
    ("Worst purchase ever!\nNever again.", "negative"),
]

_FILLER = [
    "The weather was mild and the meeting ended early on Tuesday afternoon.",
    "People talked about prices, trains, football and the new library in town.",
    "Numbers like 2024, 3.5 and 42% appear in reports; quotes too: \"yes\" and 'no'.",
]


def utf16(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Label Studio's offsets)."""
    return len(text.encode("utf-16-le")) // 2


def entity_spans(text: str, entities: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` in UTF-16 units of each entity, found left to right in ``text``."""
    spans, cursor = [], 0
    for surface, label in entities:
        index = text.index(surface, cursor)
        cursor = index + len(surface)
        spans.append((utf16(text[:index]), utf16(text[:cursor]), label))
    return spans


def ner_task(ident: int, text: str, spans: list[tuple[int, int, str]]) -> dict[str, Any]:
    """A labeled task as Label Studio lists it, one ``labels`` region per span."""
    units = text.encode("utf-16-le")
    result = [
        {
            "id": f"r{ident}-{index}",
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {
                "start": start,
                "end": end,
                "text": units[2 * start : 2 * end].decode("utf-16-le"),
                "labels": [label],
            },
        }
        for index, (start, end, label) in enumerate(spans)
    ]
    return {"id": ident, "data": {"text": text}, "annotations": [{"id": ident, "result": result}]}


def long_ner_text() -> tuple[str, list[tuple[int, int, str]]]:
    """Every sentence, one after another: 120 to 350 tokens (several windows), with its spans."""
    text, spans = "", []
    for sentence, entities in SENTENCES:
        text += " " if text else ""
        offset = utf16(text)
        spans += [(offset + s, offset + e, label) for s, e, label in entity_spans(sentence, entities)]
        text += sentence
    return text, spans


def ner_tasks() -> list[dict[str, Any]]:
    """One labeled task per sentence, and the long text (trained on over several windows) last."""
    tasks = [ner_task(i + 1, text, entity_spans(text, ents)) for i, (text, ents) in enumerate(SENTENCES)]
    return [*tasks, ner_task(len(tasks) + 1, *long_ner_text())]


def classifier_tasks() -> list[dict[str, Any]]:
    """One labeled task per sentiment text."""
    return [
        {
            "id": i + 1,
            "data": {"text": text},
            "annotations": [
                {
                    "id": i + 1,
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [label]},
                        }
                    ],
                }
            ],
        }
        for i, (text, label) in enumerate(SENTIMENT)
    ]


def corpus() -> list[str]:
    """What each family's tokenizer is trained on: every text the matrix uses, and some filler."""
    return [text for text, _ in SENTENCES] + [text for text, _ in SENTIMENT] + _FILLER
