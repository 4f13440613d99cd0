"""Benchmarks: each module prints its numbers and asserts nothing (`make bench`)."""
