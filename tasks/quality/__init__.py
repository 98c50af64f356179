"""Great Expectations suites over each batch."""
