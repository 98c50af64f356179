-- Near-duplicates of a batch's new articles (table new_fingerprints: article_id, fingerprint, position)
-- among landed articles and the batch's earlier ones: SimHash within $max_distance bits.
-- Banding: 8 bands of 8 bits; two fingerprints within 7 bits always share a band (pigeonhole), so the
-- equi-join on (band, bits) finds them without comparing every pair (within 8–10 bits: most, not all).
WITH bands AS (SELECT range AS band FROM range(8)),
earlier AS (
    SELECT article_id, fingerprint, -1 AS position FROM articles WHERE fingerprint IS NOT NULL
    UNION ALL
    SELECT article_id, fingerprint, position FROM new_fingerprints
),
new_bands AS (
    SELECT n.article_id, n.fingerprint, n.position, b.band, (n.fingerprint >> (b.band * 8)) & 255 AS bits
    FROM new_fingerprints AS n, bands AS b
),
earlier_bands AS (
    SELECT e.article_id, e.fingerprint, e.position, b.band, (e.fingerprint >> (b.band * 8)) & 255 AS bits
    FROM earlier AS e, bands AS b
)
SELECT n.article_id,
       arg_min(e.article_id, bit_count(xor(n.fingerprint, e.fingerprint))) AS near_duplicate_of
FROM new_bands AS n
JOIN earlier_bands AS e USING (band, bits)
WHERE e.article_id <> n.article_id
  AND e.position < n.position
  AND bit_count(xor(n.fingerprint, e.fingerprint)) <= $max_distance
GROUP BY n.article_id
