-- Report: the latest runs, oldest first (articles per run over time).
SELECT
    flow_run_id,
    started_at,
    coalesce(flow_run_name, 'run ' || left(flow_run_id, 8)) AS name,
    status,
    coalesce(new_files, 0) AS new_files,
    coalesce(articles_landed, 0) AS articles,
    coalesce(quarantined, 0) AS quarantined,
    coalesce(duration_s, 0) AS seconds
FROM (SELECT * FROM runs ORDER BY started_at DESC LIMIT ?)
ORDER BY started_at;
