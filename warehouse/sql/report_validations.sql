-- Report: Great Expectations row success rate per run and suite.
SELECT
    flow_run_id,
    suite,
    sum(evaluated_rows) AS evaluated_rows,
    sum(failed_rows) AS failed_rows,
    count(*) AS batches,
    count(*) FILTER (WHERE NOT success) AS failed_batches
FROM validations
GROUP BY 1, 2
ORDER BY 1, 2;
