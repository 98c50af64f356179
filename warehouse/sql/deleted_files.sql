-- Paths the ledger knows as present that are no longer under the source root. A path under a folder that
-- could not be listed this time ($unlisted: "sub/", or "" for the root) is not deleted: it was not seen, not gone.
SELECT l.source_path, l.file_version + 1 AS file_version, l.article_id
FROM file_status AS l
ANTI JOIN scan AS s USING (source_path)
WHERE l.status <> 'deleted'
  AND NOT EXISTS (SELECT 1 FROM unlisted AS u WHERE starts_with(l.source_path, u.prefix))
ORDER BY l.source_path;
