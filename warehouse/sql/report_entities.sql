-- Report: most mentioned entities, from the entities view (one row per mention).
SELECT coalesce(normalised, name) || coalesce(' (' || kind || ')', '') AS entity, count(*) AS mentions
FROM entities
WHERE name IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 15;
