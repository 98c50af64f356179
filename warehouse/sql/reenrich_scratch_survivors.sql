-- Re-enrichment's scratch DuckDB: which file and article each recomputed row that lands is.
SELECT source_path, file_version, batch_id, article_id, record_index FROM recomputed WHERE file_row >= 0;
