-- Candidate files whose exact bytes already landed from another path: record them as duplicates.
SELECT c.source_path, f.article_id
FROM candidates AS c
JOIN files AS f
  ON f.content_sha256 = c.content_sha256
 AND f.status IN ('landed', 'duplicate')
 AND f.source_path <> c.source_path
QUALIFY row_number() OVER (PARTITION BY c.source_path ORDER BY f.recorded_at) = 1;
