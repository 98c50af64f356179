-- The ledger rows of landed files that lost articles (table settled: source_path, file_version, batch_id,
-- articles, article_id, status, reason_code), settled as ingest settles them; a file keeps a reason it had.
UPDATE files
SET articles = s.articles,
    article_id = s.article_id,
    status = s.status,
    reason_code = coalesce(files.reason_code, s.reason_code)
FROM settled AS s
WHERE files.source_path = s.source_path
  AND coalesce(files.file_version, 0) = s.file_version
  AND files.batch_id IS NOT DISTINCT FROM s.batch_id
  AND files.status = 'landed';
