"""Benchmark scenarios for PlugCRM. Not part of the test suite; run ``python -m bench --help``."""
