"""Upstream label-studio-ml 2.x ways of doing things, kept so upstream backends run unchanged."""
