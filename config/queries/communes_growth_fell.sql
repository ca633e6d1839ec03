-- Communes whose follower growth this month is below last month's.
--
-- A Page's growth in a month is its followers at its last snapshot of the month minus its
-- followers at its last snapshot before the month (for a Page first seen during the month:
-- at its first snapshot). A unit's growth adds up its own Page and the Pages of every unit
-- under it. This is what unit_daily.followers_change sums to over the month (exactly so as
-- long as no follower count is missing); it is computed from the month ends so that the query
-- reads a few snapshots per Page instead of every day. For the current month the growth is so
-- far, compared with the whole of last month. Units without a snapshot in either month are left
-- out.
-- @param month month=today  the month to look at, YYYY-MM (today: the current month)
-- @param level text=commune  the level to compare: commune, district, residential_area
WITH ends AS (
    SELECT p.id AS page_id,
           p.unit_id,
           (SELECT x.followers_count FROM page_snapshots x
            WHERE x.page_id = p.id AND x.day >= :month AND x.day < :month_next
            ORDER BY x.day DESC LIMIT 1) AS this_last,
           (SELECT x.followers_count FROM page_snapshots x
            WHERE x.page_id = p.id AND x.day >= :month AND x.day < :month_next
            ORDER BY x.day LIMIT 1) AS this_first,
           (SELECT x.followers_count FROM page_snapshots x
            WHERE x.page_id = p.id AND x.day >= :month_prev AND x.day < :month
            ORDER BY x.day DESC LIMIT 1) AS last_last,
           (SELECT x.followers_count FROM page_snapshots x
            WHERE x.page_id = p.id AND x.day >= :month_prev AND x.day < :month
            ORDER BY x.day LIMIT 1) AS last_first,
           (SELECT x.followers_count FROM page_snapshots x
            WHERE x.page_id = p.id AND x.day < :month_prev
            ORDER BY x.day DESC LIMIT 1) AS earlier_last
    FROM pages p
),
growth AS (
    SELECT d.ancestor_id AS unit_id,
           SUM(e.this_last - COALESCE(e.last_last, e.earlier_last, e.this_first)) AS this_month,
           SUM(e.last_last - COALESCE(e.earlier_last, e.last_first)) AS last_month
    FROM ends e
    JOIN unit_descendants d ON d.unit_id = e.unit_id
    JOIN units u ON u.id = d.ancestor_id
    WHERE u.level = :level
    GROUP BY d.ancestor_id
)
SELECT t.code,
       t.name,
       t.path,
       g.last_month AS growth_last_month,
       g.this_month AS growth_this_month,
       g.this_month - g.last_month AS difference
FROM growth g
JOIN unit_tree t ON t.unit_id = g.unit_id
WHERE g.this_month < g.last_month
ORDER BY difference, t.code
