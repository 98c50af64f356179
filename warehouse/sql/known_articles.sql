-- New article texts that already landed from another path (same article_id = same normalised text).
SELECT DISTINCT n.article_id
FROM new_articles AS n
JOIN article_versions AS a
  ON a.article_id = n.article_id
 AND a.source_path <> n.source_path;
