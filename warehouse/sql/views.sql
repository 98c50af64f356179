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
