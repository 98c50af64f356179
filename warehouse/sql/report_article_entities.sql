-- Report: most mentioned entities from the articles.entities column (when there is no entities view).
SELECT coalesce(e.normalised, e.name) || coalesce(' (' || e.kind || ')', '') AS entity, count(*) AS mentions
FROM (SELECT unnest(entities) AS e FROM articles)
WHERE e.name IS NOT NULL
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 15;
