-- What re-enrichment reads first: each batch holding articles, in landing order (batch_id sorts by time), with
-- the enricher versions its rows were stored with.
SELECT batch_id, list(DISTINCT enricher_version) AS enricher_versions
FROM article_versions
GROUP BY batch_id
ORDER BY batch_id NULLS FIRST;
