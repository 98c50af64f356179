"""Bytes to documents: encodings, formats (text, Markdown, HTML, JSON, JSONL, gzip)."""
