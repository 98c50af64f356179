-- wirehouse status: what the warehouse holds.
SELECT
    (SELECT count(*) FROM articles) AS articles,
    (SELECT count(*) FROM article_versions) AS versions,
    (SELECT count(*) FROM file_status WHERE status <> 'deleted') AS source_files,
    (SELECT count(*) FROM quarantine) AS quarantine_rows;
