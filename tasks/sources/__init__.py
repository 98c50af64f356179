"""Where files come from: local folders and object stores, listing, change detection."""
