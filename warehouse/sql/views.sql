-- The warehouse's views, stored in the lake's catalog: any client that attaches the lake sees them.
-- The tables (article_versions, files, content_articles, quarantine, validations, run_records, and articles: the
-- articles present files hold now, kept by each commit, see held_articles.sql) are created from the Arrow schemas
-- in tasks/store/schema.py; a writer session re-runs this file whenever it changes.

-- One row per flow run: its latest record ('running' until it finishes; 'crashed' if it never did).
CREATE OR REPLACE VIEW runs AS
SELECT * FROM run_records
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
