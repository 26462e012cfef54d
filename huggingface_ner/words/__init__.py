"""NER's words: one segmentation rule of the project's own, and each model's tokens read as those words.

``segmentation`` cuts a text into words (whatever the tokenizer); ``tokens`` trims each token's
offsets of whitespace and says which word it belongs to and which token is a word's first piece.
Training, decoding, evaluation and span propagation all decide on these same words.
"""
