"""Benchmarks: speed against the usual way, and learning curves on real data (see README.md)."""
