-- The stored articles of batch $batch_id (NULL: rows written without one), as re-enrichment streams them.
-- The `=` lets the data files' statistics prune.
SELECT * FROM article_versions WHERE batch_id = $batch_id
UNION ALL
SELECT * FROM article_versions WHERE $batch_id IS NULL AND batch_id IS NULL;
