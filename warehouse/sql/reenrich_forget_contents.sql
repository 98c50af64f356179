-- Articles whose enrichment now fails (table gone: content_sha256, article_id, record_index, batch_id): ingest
-- never records the content_articles of such an article, so re-enrichment removes theirs.
DELETE FROM content_articles AS c USING gone AS g
WHERE c.content_sha256 IS NOT DISTINCT FROM g.content_sha256
  AND c.article_id = g.article_id
  AND coalesce(c.record_index, 0) = g.record_index
  AND c.batch_id IS NOT DISTINCT FROM g.batch_id;
