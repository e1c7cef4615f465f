"""Benchmarks: each compares against a baseline measured in the same run and writes
bench/results/<name>.json. Run them all with `make bench`, or one with
`python -m bench.<name>`."""
