-- Which row of article_versions each article in table `scope` (article_id) shows in `articles`, and under
-- which file: landed_path and landed_version name the row, source_path, file_version and record_index the file
-- that holds it now. No row: no present file holds it. Each commit recomputes with this the articles it touched
-- (tasks/store/articles.py); a new lake or a lake migrated from the `articles` view, every article.
--
-- A file holds what its current bytes yield, whether they landed from it or were already known (a copy, a
-- bundle); deleted paths and overwritten versions hold nothing, so an article stays while any present file
-- holds it. It is shown under the file that landed it while that file still holds it, else under the first
-- present file that does (by source_path, file_version, record_index). An article's row depends only on its own
-- article_versions and content_articles rows and on the ledger rows of the files with its bytes: restricting
-- those two tables to `scope` gives each article in it exactly its row.
WITH versions AS (  -- every row the scope's articles landed as: its key columns (the rows are read once, last)
    SELECT a.article_id, a.source_path, a.file_version, a.record_index, a.content_sha256, a.ingested_at,
           a.snapshot_id IS NULL AS written_now  -- by the transaction asking
    FROM article_versions AS a SEMI JOIN scope USING (article_id)
), contents AS (  -- the bundles and files whose bytes hold them besides
    SELECT c.content_sha256, c.article_id, c.record_index FROM content_articles AS c SEMI JOIN scope USING (article_id)
), newer AS (  -- paths with a version after the first: a row of an older version is no longer held by it
    SELECT source_path, max(file_version) AS newest FROM files WHERE file_version > 1 GROUP BY source_path
), own AS (  -- rows whose file has had no version since it landed them: held by it (nearly every article)
    SELECT v.* FROM versions AS v
    ANTI JOIN newer ON v.source_path = newer.source_path AND v.file_version < newer.newest
), copy_candidates AS (  -- copies and requeued files with the bytes of the scope's articles or bundles (few)
    SELECT f.source_path, f.file_version, f.content_sha256, f.status
    FROM files AS f
    WHERE f.status IN ('duplicate', 'requeued')
      AND f.content_sha256 IN (SELECT content_sha256 FROM versions UNION ALL SELECT content_sha256 FROM contents)
), copies AS (  -- the present files that may hold the scope's articles landed elsewhere (few)
    -- A copy counts when any article landed with its bytes, whichever: what a file holds must not depend on
    -- which articles are asked for (that is what lets a commit recompute only those it touched).
    SELECT c.* FROM copy_candidates AS c
    SEMI JOIN article_versions AS a ON a.content_sha256 = c.content_sha256
    UNION ALL
    SELECT f.source_path, f.file_version, f.content_sha256, f.status
    FROM files AS f
    WHERE f.status IN ('landed', 'unchanged') AND f.content_sha256 IN (SELECT content_sha256 FROM contents)
), present_copies AS (
    SELECT p.* FROM copies AS p
    ANTI JOIN newer ON p.source_path = newer.source_path AND p.file_version < newer.newest
), held_elsewhere AS (  -- what copies, requeued files and bundles hold
    SELECT p.source_path, p.file_version, v.article_id, v.record_index
    FROM present_copies AS p
    JOIN versions AS v ON v.content_sha256 = p.content_sha256
    WHERE p.status IN ('duplicate', 'requeued')
    UNION ALL
    SELECT p.source_path, p.file_version, c.article_id, c.record_index
    FROM present_copies AS p
    JOIN contents AS c ON c.content_sha256 = p.content_sha256
), candidate_rows AS (  -- the rows those articles landed as
    SELECT v.article_id, v.source_path, v.file_version
    FROM held_elsewhere AS h
    JOIN versions AS v USING (article_id)
), still_held AS (  -- candidates the file version that landed them still holds
    SELECT r.article_id
    FROM candidate_rows AS r
    SEMI JOIN files AS f ON f.source_path = r.source_path AND f.file_version = r.file_version
        AND f.status IN ('landed', 'duplicate', 'unchanged', 'requeued') AND f.content_sha256 IS NOT NULL
    ANTI JOIN newer ON r.source_path = newer.source_path AND r.file_version < newer.newest
), orphans AS (  -- held, but not by the file version that landed them
    SELECT article_id,
           arg_min(source_path, (source_path, file_version, record_index)) AS source_path,
           arg_min(file_version, (source_path, file_version, record_index)) AS file_version,
           arg_min(record_index, (source_path, file_version, record_index)) AS record_index
    FROM held_elsewhere
    WHERE article_id NOT IN (SELECT article_id FROM still_held)
    GROUP BY article_id
)
SELECT article_id, source_path AS landed_path, file_version AS landed_version, written_now, source_path,
       file_version, record_index
FROM own
UNION ALL
SELECT v.article_id, v.source_path, v.file_version, v.written_now, o.source_path, o.file_version, o.record_index
FROM versions AS v
JOIN orphans AS o USING (article_id)
QUALIFY row_number() OVER (PARTITION BY v.article_id ORDER BY v.ingested_at DESC, v.source_path) = 1;
