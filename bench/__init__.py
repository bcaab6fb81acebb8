"""Libra benchmarks: Libra against the raw baseline in the same run. `python -m bench`."""
