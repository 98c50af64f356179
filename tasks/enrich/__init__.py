"""What an article says: language, metadata, entities, quotes, keywords, fingerprints."""
