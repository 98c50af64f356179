-- What the bytes of files that lost articles hold (table dropped: content_sha256, batch_id): every article
-- content_articles records for those bytes, whether it landed from that file or from another one.
SELECT c.content_sha256, c.article_id, coalesce(c.record_index, 0) AS record_index, c.batch_id
FROM content_articles AS c
JOIN (SELECT DISTINCT content_sha256, batch_id FROM dropped) AS d
  ON c.content_sha256 IS NOT DISTINCT FROM d.content_sha256 AND c.batch_id IS NOT DISTINCT FROM d.batch_id;
