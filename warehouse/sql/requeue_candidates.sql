-- Source files whose latest version was quarantined (wholly, or some rows of it) with reason $reason,
-- optionally only paths matching the glob $path. `wirehouse requeue` appends a 'requeued' ledger row
-- (the next file_version) for each, so the next run reads them again as a new version; until then the
-- file still holds what its bytes landed (content_sha256), so those articles stay in `articles`.
SELECT l.source_path, l.file_version + 1 AS file_version, l.size, l.mtime, l.mtime_ns, l.content_sha256
FROM file_status AS l
WHERE l.status IN ('quarantined', 'landed', 'duplicate', 'unchanged')
  AND EXISTS (
      SELECT 1 FROM quarantine AS q
      WHERE q.source_path = l.source_path AND q.file_version = l.file_version AND q.reason_code = $reason
  )
  AND ($path IS NULL OR l.source_path GLOB $path)
ORDER BY l.source_path;
