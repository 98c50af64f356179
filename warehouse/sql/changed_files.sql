-- Entries found under the source root ($scan) that the ledger has not seen with this size and mtime:
-- new paths, changed files, and paths that were deleted and came back. Unchanged files cost no read.
SELECT s.source_path, s.size, s.mtime_ns, s.reason_code, s.reason_detail,
       coalesce(l.file_version, 0) + 1 AS file_version
FROM scan AS s
LEFT JOIN file_status AS l USING (source_path)
WHERE l.source_path IS NULL
   OR l.status = 'deleted'
   OR l.size <> s.size
   OR l.mtime_ns <> s.mtime_ns
ORDER BY s.source_path;
