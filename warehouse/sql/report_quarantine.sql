-- Report: quarantined files and rows per run and reason_code, for the runs the report shows.
SELECT q.flow_run_id, q.reason_code, count(*) AS rows
FROM quarantine AS q
GROUP BY 1, 2
ORDER BY 1, 3 DESC;
