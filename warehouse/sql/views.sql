-- The warehouse's views: the single source of their definitions.
-- '{data}' is replaced by the live data folder (quoted by tasks.storage.sql_literal).
-- Every committed batch is a directory batch=<id>/ holding any of the tables' Parquet files;
-- globs pick up new batches without recreating anything.

-- The ledger: one row per source file version seen (and one per deletion).
CREATE OR REPLACE VIEW files AS
SELECT * FROM read_parquet('{data}/batch=*/files.parquet', union_by_name = true, hive_partitioning = false);

-- Every landed article version, history included.
CREATE OR REPLACE VIEW article_versions AS
SELECT * FROM read_parquet('{data}/batch=*/articles.parquet', union_by_name = true, hive_partitioning = false);

-- Every article each enriched content (by hash) yields, including those that had landed from another path.
CREATE OR REPLACE VIEW content_articles AS
SELECT * FROM read_parquet('{data}/batch=*/content_articles.parquet', union_by_name = true, hive_partitioning = false);

-- Rejected files and rows, with a stable reason_code.
CREATE OR REPLACE VIEW quarantine AS
SELECT * FROM read_parquet('{data}/batch=*/quarantine.parquet', union_by_name = true, hive_partitioning = false);

-- One row per Great Expectations validation result.
CREATE OR REPLACE VIEW validations AS
SELECT * FROM read_parquet('{data}/batch=*/validations.parquet', union_by_name = true, hive_partitioning = false);

-- One row per flow run: its latest record ('running' until it finishes; 'crashed' if it never did).
CREATE OR REPLACE VIEW runs AS
SELECT * FROM read_parquet('{data}/batch=*/runs.parquet', union_by_name = true, hive_partitioning = false)
QUALIFY row_number() OVER (PARTITION BY flow_run_id ORDER BY recorded_at DESC) = 1;

-- Where each source path stands now.
CREATE OR REPLACE VIEW file_status AS
SELECT * FROM files
QUALIFY row_number() OVER (PARTITION BY source_path ORDER BY file_version DESC, recorded_at DESC) = 1;

-- The articles present files hold now: each once. A file holds what its current bytes yield, whether they
-- landed from it or were already known (a copy, a bundle); deleted paths and overwritten versions hold nothing,
-- so an article stays while any present file holds it. source_path, file_version and record_index name the
-- file that landed the row while it still holds it, else the first present file that does.
CREATE OR REPLACE VIEW articles AS
WITH held AS (
    SELECT DISTINCT c.article_id, h.source_path, h.file_version, c.record_index
    FROM file_status AS h
    JOIN content_articles AS c USING (content_sha256)
    WHERE h.status IN ('landed', 'duplicate', 'unchanged', 'requeued')
), latest AS (
    SELECT article_id, max(batch_id) AS batch_id
    FROM article_versions
    WHERE article_id IN (SELECT article_id FROM held)
    GROUP BY article_id
), first_holder AS (
    SELECT article_id, arg_min(source_path, source_path) AS source_path,
           arg_min(file_version, source_path) AS file_version, arg_min(record_index, source_path) AS record_index
    FROM held
    GROUP BY article_id
)
SELECT a.* REPLACE (
    coalesce(own.source_path, f.source_path) AS source_path,
    coalesce(own.file_version, f.file_version) AS file_version,
    coalesce(own.record_index, f.record_index) AS record_index
)
FROM article_versions AS a
SEMI JOIN latest USING (article_id, batch_id)
JOIN first_holder AS f USING (article_id)
LEFT JOIN held AS own
  ON own.article_id = a.article_id AND own.source_path = a.source_path AND own.file_version = a.file_version;

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
