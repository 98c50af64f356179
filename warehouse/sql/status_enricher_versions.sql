-- wirehouse status: articles per stored enricher version (which components are stale).
SELECT enricher_version, count(*) AS articles
FROM articles
GROUP BY 1;
