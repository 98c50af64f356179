-- Candidates whose bytes equal their own path's current version: touched (new mtime), not changed.
-- They are recorded as 'unchanged' at that same file_version, so the next poll skips them without reading.
SELECT c.source_path, l.file_version, l.status, l.article_id, l.reason_code
FROM candidates AS c
JOIN file_status AS l USING (source_path)
WHERE l.content_sha256 = c.content_sha256
  AND l.status IN ('landed', 'duplicate', 'quarantined', 'unchanged');
