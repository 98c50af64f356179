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
-- NOT MATERIALIZED: a CTE DuckDB materialises keeps every column of article_versions (5x slower, measured);
-- ties between two files holding one article go to the first by (source_path, file_version, record_index).
CREATE OR REPLACE VIEW articles AS
WITH newer AS NOT MATERIALIZED (
    SELECT source_path, max(file_version) AS newest FROM files WHERE file_version > 1 GROUP BY source_path
), own AS NOT MATERIALIZED (  -- rows whose file has had no version since it landed them: held by it (nearly every article)
    SELECT a.*
    FROM article_versions AS a
    ANTI JOIN newer ON a.source_path = newer.source_path AND a.file_version < newer.newest
), copies AS NOT MATERIALIZED (  -- the present files that may hold articles landed elsewhere (few): looked up first
    SELECT f.source_path, f.file_version, f.content_sha256, f.status
    FROM files AS f
    WHERE f.status IN ('duplicate', 'requeued') AND f.content_sha256 IS NOT NULL
    UNION ALL
    SELECT f.source_path, f.file_version, f.content_sha256, f.status
    FROM files AS f
    SEMI JOIN content_articles AS c ON c.content_sha256 = f.content_sha256
    WHERE f.status IN ('landed', 'unchanged')
), present_copies AS NOT MATERIALIZED (
    SELECT p.* FROM copies AS p
    ANTI JOIN newer ON p.source_path = newer.source_path AND p.file_version < newer.newest
), held_elsewhere AS NOT MATERIALIZED (  -- what copies, requeued files and bundles hold (few)
    SELECT p.source_path, p.file_version, a.article_id, a.record_index
    FROM present_copies AS p
    JOIN article_versions AS a ON a.content_sha256 = p.content_sha256
    WHERE p.status IN ('duplicate', 'requeued')
    UNION ALL
    SELECT p.source_path, p.file_version, c.article_id, c.record_index
    FROM present_copies AS p
    JOIN content_articles AS c ON c.content_sha256 = p.content_sha256
), candidate_rows AS NOT MATERIALIZED (  -- the rows those articles landed as (an inner join: few, and known few)
    SELECT a.article_id, a.source_path, a.file_version
    FROM held_elsewhere AS h
    JOIN article_versions AS a USING (article_id)
), still_held AS NOT MATERIALIZED (  -- candidates the file version that landed them still holds
    SELECT r.article_id
    FROM candidate_rows AS r
    SEMI JOIN files AS f ON f.source_path = r.source_path AND f.file_version = r.file_version
        AND f.status IN ('landed', 'duplicate', 'unchanged', 'requeued') AND f.content_sha256 IS NOT NULL
    ANTI JOIN newer ON r.source_path = newer.source_path AND r.file_version < newer.newest
), orphans AS NOT MATERIALIZED (  -- held, but not by the file version that landed them
    SELECT article_id, arg_min(source_path, (source_path, file_version, record_index)) AS source_path,
           arg_min(file_version, (source_path, file_version, record_index)) AS file_version, arg_min(record_index, (source_path, file_version, record_index)) AS record_index
    FROM held_elsewhere
    WHERE article_id NOT IN (SELECT article_id FROM still_held)
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
