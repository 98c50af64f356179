-- The rows of article_versions that table `held` (held_articles.sql's result) names, as `articles` shows them.
-- $written_now: only rows the transaction asking wrote itself (read from its own data, not the whole table).
SELECT a.* REPLACE (h.source_path AS source_path, h.file_version AS file_version, h.record_index AS record_index)
FROM article_versions AS a
JOIN held AS h
  ON a.article_id = h.article_id AND a.source_path = h.landed_path AND a.file_version = h.landed_version
WHERE a.snapshot_id IS NULL OR NOT $written_now
