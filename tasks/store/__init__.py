"""The warehouse: tables, the ledger, landing batches, compaction, re-enrichment."""
