-- Example queries (README links here; tests run each one).

-- Articles per language
SELECT language, count(*) AS articles FROM articles GROUP BY 1 ORDER BY 2 DESC;

-- The newest articles with their title or lede
SELECT ingested_at, language, coalesce(title, left(lede, 80)) AS headline, source_path
FROM articles ORDER BY ingested_at DESC LIMIT 20;

-- Why files were quarantined
SELECT reason_code, count(*) AS rows, any_value(source_path) AS example FROM quarantine GROUP BY 1 ORDER BY 2 DESC;

-- The history of one source file
SELECT file_version, status, size, mtime, recorded_at FROM files WHERE source_path = '000_30a036b7f4c49258.txt' ORDER BY file_version;

-- Validation success rate per suite
SELECT suite, avg(success::INT) AS success_rate, sum(failed_rows) AS failed_rows FROM validations GROUP BY 1;

-- Recent runs
SELECT started_at, status, flow_run_name, new_files, landed, quarantined, duration_s FROM runs ORDER BY started_at DESC LIMIT 10;

-- Who is mentioned most, and in how many articles.
SELECT kind, normalised, count(*) AS mentions, count(DISTINCT article_id) AS articles
FROM entities GROUP BY ALL ORDER BY mentions DESC LIMIT 20;

-- Quotations with their speakers.
SELECT speaker, quote, source_path FROM quotes WHERE speaker IS NOT NULL ORDER BY source_path, start;

-- Articles per country mentioned.
SELECT country, count(*) AS articles FROM (SELECT unnest(countries) AS country FROM articles) GROUP BY 1 ORDER BY 2 DESC;

-- Re-published or lightly edited copies.
SELECT source_path, original_path, distance FROM near_duplicates ORDER BY distance;
