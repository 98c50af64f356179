"""Benchmark of the full ``wirehouse run`` against the raw-langdetect all-cores ceiling (``python -m bench``)."""
