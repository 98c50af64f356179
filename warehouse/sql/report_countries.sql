-- Report: articles per country (only when articles has a countries column).
-- {countries} is a list expression over that column, built by tasks/report.py.
SELECT CAST(country AS VARCHAR) AS country, count(*) AS articles
FROM (SELECT unnest({countries}) AS country FROM articles)
WHERE country IS NOT NULL AND CAST(country AS VARCHAR) <> ''
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 15;
