-- Report: articles per country.
SELECT CAST(country AS VARCHAR) AS country, count(*) AS articles
FROM (SELECT unnest(countries) AS country FROM articles)
WHERE country IS NOT NULL AND CAST(country AS VARCHAR) <> ''
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 15;
