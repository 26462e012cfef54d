"""Labeled tasks as training data: the control tags served, the annotation to trust, examples collected."""
