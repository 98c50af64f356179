-- Entries found under the source root ($scan) that the ledger has not seen with this size, mtime and ETag:
-- new paths, changed files, paths that were deleted and came back, and objects whose last fetch failed
-- transiently (fetch_error). Unchanged files cost no read.
SELECT s.source_path, s.size, s.mtime_ns, s.reason_code, s.reason_detail, s.etag,
       coalesce(l.file_version, 0) + 1 AS file_version
FROM scan AS s
LEFT JOIN file_status AS l USING (source_path)
WHERE l.source_path IS NULL
   OR l.status IN ('deleted', 'requeued')
   OR l.size <> s.size
   OR l.mtime_ns <> s.mtime_ns
   OR l.source_etag IS DISTINCT FROM s.etag
   OR l.reason_code = 'fetch_error'
ORDER BY s.source_path;
