-- The warehouse's views, stored in the lake's catalog: any client that attaches the lake sees them.
-- The tables (article_versions, files, content_articles, quarantine, validations, run_records) are created from
-- the Arrow schemas in tasks/store/schema.py; a writer session re-runs this file whenever it changes.

-- One row per flow run: its latest record ('running' until it finishes; 'crashed' if it never did).
CREATE OR REPLACE VIEW runs AS
SELECT * FROM run_records
QUALIFY row_number() OVER (PARTITION BY flow_run_id ORDER BY recorded_at DESC) = 1;

-- Where each source path stands now.
CREATE OR REPLACE VIEW file_status AS
SELECT * FROM files
QUALIFY row_number() OVER (PARTITION BY source_path ORDER BY file_version DESC, recorded_at DESC) = 1;

-- The articles present files hold now: each once. A file holds what its current bytes yield, whether they
-- landed from it or were already known (a copy, a bundle); deleted paths and overwritten versions hold nothing,
-- so an article stays while any present file holds it. source_path, file_version and record_index name the
-- file that landed the row while it still holds it, else the first present file that does.
-- Written for the common case: only files landed more than once (file_version > 1, which Parquet statistics
-- skip cheaply) are grouped, and only copies, requeued files and content_articles are searched for the rest.
CREATE OR REPLACE VIEW articles AS
WITH newer AS (
    SELECT source_path, max(file_version) AS newest FROM files WHERE file_version > 1 GROUP BY source_path
), present AS (  -- each present path's current bytes
    SELECT f.source_path, f.file_version, f.content_sha256, f.status
    FROM files AS f
    ANTI JOIN newer ON f.source_path = newer.source_path AND f.file_version < newer.newest
    WHERE f.status IN ('landed', 'duplicate', 'unchanged', 'requeued') AND f.content_sha256 IS NOT NULL
), own AS (  -- rows whose file has had no version since it landed them: held by it (nearly every article)
    SELECT a.*
    FROM article_versions AS a
    ANTI JOIN newer ON a.source_path = newer.source_path AND a.file_version < newer.newest
), held_elsewhere AS (  -- what copies, requeued files and bundles hold (few)
    SELECT p.source_path, p.file_version, a.article_id, a.record_index
    FROM present AS p
    JOIN article_versions AS a ON a.content_sha256 = p.content_sha256
    WHERE p.status IN ('duplicate', 'requeued')
    UNION ALL
    SELECT p.source_path, p.file_version, c.article_id, c.record_index
    FROM present AS p
    JOIN content_articles AS c ON c.content_sha256 = p.content_sha256
), candidate_rows AS (
    SELECT a.article_id, a.source_path, a.file_version
    FROM article_versions AS a
    SEMI JOIN held_elsewhere AS h USING (article_id)
), orphans AS (  -- held, but not by the file version that landed them
    SELECT article_id, arg_min(source_path, source_path) AS source_path,
           arg_min(file_version, source_path) AS file_version, arg_min(record_index, source_path) AS record_index
    FROM held_elsewhere
    WHERE article_id NOT IN (
        SELECT r.article_id FROM candidate_rows AS r
        SEMI JOIN present AS p ON p.source_path = r.source_path AND p.file_version = r.file_version
    )
    GROUP BY article_id
)
SELECT * FROM own
UNION ALL BY NAME
SELECT a.* REPLACE (o.source_path AS source_path, o.file_version AS file_version, o.record_index AS record_index)
FROM article_versions AS a
JOIN orphans AS o USING (article_id)
QUALIFY row_number() OVER (PARTITION BY a.article_id ORDER BY a.ingested_at DESC, a.source_path) = 1;

-- One row per entity mention in the latest articles (people, organisations, places), with offsets into text.
CREATE OR REPLACE VIEW entities AS
SELECT article_id, source_path, e.kind, e.name, e.normalised, e.start, e."end", e.country
FROM (SELECT article_id, source_path, unnest(entities) AS e FROM articles);

-- One row per quotation in the latest articles, with its speaker when the text attributes it.
CREATE OR REPLACE VIEW quotes AS
SELECT article_id, source_path, q.quote, q.speaker, q.start, q."end"
FROM (SELECT article_id, source_path, unnest(quotes) AS q FROM articles);

-- Articles that are near-duplicates (re-published, lightly edited) of an earlier article.
CREATE OR REPLACE VIEW near_duplicates AS
SELECT a.article_id, a.source_path, a.title, a.near_duplicate_of, o.source_path AS original_path,
       o.title AS original_title, bit_count(xor(a.fingerprint, o.fingerprint)) AS distance
FROM articles AS a
JOIN article_versions AS o ON o.article_id = a.near_duplicate_of
WHERE a.near_duplicate_of IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY a.article_id ORDER BY o.ingested_at DESC) = 1;
