-- Report: headline numbers.
SELECT
    (SELECT count(*) FROM articles) AS articles,
    (SELECT count(DISTINCT language) FROM articles) AS languages,
    (SELECT count(*) FROM runs) AS runs,
    (SELECT count(*) FROM quarantine) AS quarantine_rows,
    (SELECT count(*) FROM file_status WHERE status <> 'deleted') AS source_files;
