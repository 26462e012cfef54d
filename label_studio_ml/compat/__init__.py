"""Upstream label-studio-ml 2.x helper methods, kept so upstream backends run unchanged."""
