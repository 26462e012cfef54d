"""Tests of what ships around the code: the Docker image and compose file, the benchmarks."""
