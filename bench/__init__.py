"""Benchmarks (never timed unit tests): `make bench`."""
