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

-- The latest landed version of each source file's articles: what most queries want.
-- Written as "no newer landed version exists": only files landed more than once (file_version > 1,
-- which Parquet statistics skip cheaply) are grouped, so 1M articles count in tens of ms, not hundreds.
CREATE OR REPLACE VIEW articles AS
SELECT a.*
FROM article_versions AS a
ANTI JOIN (
    SELECT source_path, max(file_version) AS newest
    FROM files
    WHERE status = 'landed' AND file_version > 1
    GROUP BY source_path
) AS newer ON a.source_path = newer.source_path AND a.file_version < newer.newest;

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
