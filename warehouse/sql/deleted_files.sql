-- Paths the ledger knows as present that are no longer under the source root.
SELECT l.source_path, l.file_version + 1 AS file_version, l.article_id
FROM file_status AS l
ANTI JOIN scan AS s USING (source_path)
WHERE l.status <> 'deleted'
ORDER BY l.source_path;
