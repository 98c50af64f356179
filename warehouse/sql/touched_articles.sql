-- The articles whose row in `articles` the open transaction may have changed: those landed from, or with the
-- bytes of, a path it wrote a ledger or article row for, those of contents it recorded, and those `articles`
-- shows under such a path or content. A superset is harmless (they are recomputed to the same row); rows the
-- transaction deleted are not seen here, so a transaction that deleted any recomputes every article instead.
WITH paths AS MATERIALIZED (
    SELECT source_path FROM files WHERE snapshot_id IS NULL
    UNION
    SELECT source_path FROM article_versions WHERE snapshot_id IS NULL
), contents AS MATERIALIZED (
    SELECT content_sha256 FROM files SEMI JOIN paths USING (source_path) WHERE content_sha256 IS NOT NULL
    UNION
    SELECT content_sha256 FROM article_versions WHERE snapshot_id IS NULL
    UNION
    SELECT content_sha256 FROM content_articles WHERE snapshot_id IS NULL
)  -- semi joins, one per column: an OR of two IN lists is planned as a slow mark join (10x, measured)
SELECT article_id FROM article_versions SEMI JOIN paths USING (source_path)
UNION
SELECT article_id FROM article_versions SEMI JOIN contents USING (content_sha256)
UNION
SELECT article_id FROM content_articles SEMI JOIN contents USING (content_sha256)
UNION
SELECT article_id FROM articles SEMI JOIN paths USING (source_path)
UNION
SELECT article_id FROM articles SEMI JOIN contents USING (content_sha256);
