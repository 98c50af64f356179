-- Report: articles per language (latest versions only).
SELECT coalesce(language, 'und') AS language, count(*) AS articles
FROM articles
GROUP BY 1
ORDER BY 2 DESC, 1;
