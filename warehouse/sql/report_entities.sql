-- Report: most mentioned entities (only when the enrichment's entities view exists).
-- {entity} is the view's name column, chosen and quoted by tasks/report.py.
SELECT CAST({entity} AS VARCHAR) AS entity, count(*) AS mentions
FROM entities
WHERE {entity} IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 15;
