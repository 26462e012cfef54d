"""Texts as models see them: bounded length, overlapping token windows, batches, a token cache."""
