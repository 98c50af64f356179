-- wirehouse status: the most recent runs (parameter: how many).
SELECT
    strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started,
    status,
    new_files AS new,
    landed,
    duplicates,
    quarantined,
    deleted,
    round(duration_s, 1) AS seconds
FROM runs
ORDER BY started_at DESC
LIMIT ?;
