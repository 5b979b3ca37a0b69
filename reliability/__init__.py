"""Reliability runs (make reliability): contract fuzzing, load, crash-at-any-point, report."""
