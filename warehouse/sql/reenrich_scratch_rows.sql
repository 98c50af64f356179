-- Re-enrichment's scratch DuckDB: the recomputed rows that land, in landing order, near_duplicate_of as relinked
-- when $relinked (the links table), else as recomputed.
SELECT r.* EXCLUDE (file_index, file_row, near_duplicate_of),
       CASE WHEN $relinked THEN l.near_duplicate_of ELSE r.near_duplicate_of END AS near_duplicate_of
FROM recomputed AS r
LEFT JOIN links AS l USING (file_index, file_row)
WHERE r.file_row >= 0
ORDER BY r.file_index, r.file_row;
