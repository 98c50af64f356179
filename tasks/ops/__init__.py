"""What operators use: the read-only SQL console and the run report."""
