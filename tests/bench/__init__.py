"""Tests of the generalisation benchmark's independent data and baselines (``bench/``)."""
