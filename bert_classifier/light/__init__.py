"""The classifier's light layers on frozen sentence embeddings: zero-shot, abstention, and instant heads."""
