-- Re-enrichment's scratch DuckDB: the fingerprints of the batch at $file_index in the order ingest enriched them
-- (by path, then record), each with its place among the recomputed rows; file_row -1: it failed validation, is
-- linked against within its batch (ingest links, then validates) and does not land.
SELECT article_id, fingerprint, file_index, file_row, file_row >= 0 AS landed
FROM recomputed
WHERE file_index = $file_index AND fingerprint IS NOT NULL
ORDER BY source_path, coalesce(record_index, 0);
