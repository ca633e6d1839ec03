-- A unit's daily figures: its own Page plus every Page of the units under it.
--
-- One row per local day on which at least one of those Pages has a snapshot; days without any
-- are missing, not zero. followers and likes are sums over the Pages that reported that day
-- (pages_reporting); the changes are against each Page's previous snapshot, like-for-like as
-- in unit_daily (migration 0007): a Page on its first day adds its followers but no change,
-- and so does a Page back after more than 31 days without a snapshot (1 day for a Page no
-- longer collected). Posts and engagement count the posts published that day, each at its
-- latest snapshot.
-- The same figures as the unit_daily view. For a unit with units under it the days already
-- summed in unit_day_totals are read from there (migration 0009); the days from the earliest
-- write not summed yet (rollup_changes), and every day of a unit without units under it, are
-- computed from the snapshots: each one's previous snapshot by the (page_id, day) key (a few
-- days) or a LAG (the whole period), the gap between the two in days through a day number
-- worked out from the YYYY-MM-DD text, once per pair of days, the same on both databases.
-- @param unit unit  the unit's code, as in the units file (e.g. 412); an unknown code is refused
-- @param from date=today-30  first local day, YYYY-MM-DD or today-N
-- @param to date=today  last local day, YYYY-MM-DD or today-N
WITH target AS (
    SELECT u.id FROM units u WHERE u.code = :unit
),
summed AS (
    -- 1 when unit_day_totals holds this unit (it has units under it) and no change of the tree,
    -- of a Page's unit or of its active flag waits to be summed; else every day is computed.
    SELECT CASE WHEN EXISTS (SELECT 1 FROM units c JOIN target t ON c.parent_id = t.id)
                 AND NOT EXISTS (SELECT 1 FROM rollup_changes WHERE kind = 'tree')
                THEN 1 ELSE 0 END AS ok
),
pending AS (
    -- The earliest day a snapshot, and a snapshot or a post, was written since the summing.
    SELECT (SELECT MIN(day) FROM rollup_changes WHERE kind = 'snapshot') AS snapshot_day,
           (SELECT MIN(day) FROM rollup_changes WHERE day IS NOT NULL) AS any_day
),
bounds AS MATERIALIZED (
    -- live_from: the first day whose audience is computed (empty: none); posts_from and
    -- posts_start (the UTC instant it starts): the same for the posts. Never before `from`.
    SELECT CASE WHEN s.ok = 0 THEN :from
                WHEN p.snapshot_day > :from THEN p.snapshot_day
                WHEN p.snapshot_day IS NOT NULL THEN :from END AS live_from,
           CASE WHEN s.ok = 0 THEN :from
                WHEN p.any_day > :from THEN p.any_day
                WHEN p.any_day IS NOT NULL THEN :from END AS posts_from,
           CASE WHEN s.ok = 0 THEN :from_start
                WHEN p.any_day > :from
                THEN (SELECT MIN(c.day_start) FROM rollup_changes c
                      WHERE c.kind IN ('snapshot', 'post') AND c.day = p.any_day)
                WHEN p.any_day IS NOT NULL THEN :from_start END AS posts_start
    FROM summed s CROSS JOIN pending p
),
unit_pages AS MATERIALIZED (
    -- Each Page with the first computed day beside it: the snapshots are then joined on
    -- (page_id, day >= live_from), which both planners serve from the (page_id, day) key.
    SELECT pg.id AS page_id, pg.active, b.live_from
    FROM bounds b
    CROSS JOIN units u
    JOIN unit_descendants d ON d.ancestor_id = u.id
    JOIN pages pg ON pg.unit_id = d.unit_id
    WHERE u.code = :unit
),
live_snaps AS MATERIALIZED (
    -- The unit's snapshots of the computed days, each with its Page's previous snapshot. Days
    -- computed from within the period (a night not summed yet): the previous one is found by
    -- the (page_id, day) key, for those days' snapshots only...
    SELECT ps.day,
           up.active,
           ps.followers_count,
           ps.fan_count,
           (SELECT x.day FROM page_snapshots x
            WHERE x.page_id = ps.page_id AND x.day < ps.day
            ORDER BY x.day DESC LIMIT 1) AS prev_day,
           (SELECT x.followers_count FROM page_snapshots x
            WHERE x.page_id = ps.page_id AND x.day < ps.day
            ORDER BY x.day DESC LIMIT 1) AS prev_followers,
           (SELECT x.fan_count FROM page_snapshots x
            WHERE x.page_id = ps.page_id AND x.day < ps.day
            ORDER BY x.day DESC LIMIT 1) AS prev_likes
    FROM unit_pages up
    JOIN page_snapshots ps ON ps.page_id = up.page_id AND ps.day >= up.live_from
    WHERE (SELECT live_from FROM bounds) > :from
      AND ps.day <= :to
    UNION ALL
    -- ...the whole period (a unit without units under it, or the tree changed since the
    -- summing): a LAG over its Pages' snapshots from 31 days before `from` (the oldest previous
    -- snapshot a change may be against; an older one gives no change either way).
    SELECT w.day, w.active, w.followers_count, w.fan_count, w.prev_day, w.prev_followers,
           w.prev_likes
    FROM (
        SELECT ps.day,
               pg.active,
               ps.followers_count,
               ps.fan_count,
               LAG(ps.day) OVER w AS prev_day,
               LAG(ps.followers_count) OVER w AS prev_followers,
               LAG(ps.fan_count) OVER w AS prev_likes
        -- bounds first and tested twice: PostgreSQL skips the branch on the scalar test,
        -- SQLite on the outer row (it would compute the window before the scalar test).
        FROM bounds b
        CROSS JOIN page_snapshots ps
        JOIN pages pg ON pg.id = ps.page_id
        WHERE b.live_from = :from
          AND (SELECT live_from FROM bounds) = :from
          AND ps.page_id IN (SELECT page_id FROM unit_pages)
          AND ps.day >= :from_lookback
          AND ps.day <= :to
        WINDOW w AS (PARTITION BY ps.page_id ORDER BY ps.day)
    ) w
    WHERE w.day >= :from
),
groups AS (
    -- The snapshots of a day by the day of their previous one (and the Page's active flag): a
    -- few rows per day, so the gap between the two is worked out per group, not per snapshot.
    SELECT day,
           prev_day,
           active,
           COUNT(*) AS pages_reporting,
           SUM(followers_count) AS followers,
           SUM(followers_count - prev_followers) AS followers_change,
           SUM(fan_count) AS likes,
           SUM(fan_count - prev_likes) AS likes_change
    FROM live_snaps
    GROUP BY day, prev_day, active
),
day_text AS (
    SELECT x.day, CAST(x.day AS VARCHAR(10)) AS t
    FROM (SELECT day FROM groups UNION SELECT prev_day FROM groups) x
    WHERE x.day IS NOT NULL
),
ymd AS (
    SELECT day,
           CAST(SUBSTR(t, 1, 4) AS INTEGER)
               - CASE WHEN CAST(SUBSTR(t, 6, 2) AS INTEGER) <= 2 THEN 1 ELSE 0 END AS y,
           CAST(SUBSTR(t, 6, 2) AS INTEGER) AS m,
           CAST(SUBSTR(t, 9, 2) AS INTEGER) AS d
    FROM day_text
),
day_numbers AS (
    -- Days since a fixed origin (proleptic Gregorian, years starting in March).
    SELECT day, 365 * y + y / 4 - y / 100 + y / 400 + (153 * ((m + 9) % 12) + 2) / 5 + d AS n
    FROM ymd
),
audience AS (
    -- A Page's change counts when its previous snapshot is at most 31 days earlier (1 day for
    -- a Page no longer collected): computed days...
    SELECT g.day,
           SUM(g.pages_reporting) AS pages_reporting,
           SUM(g.followers) AS followers,
           SUM(CASE WHEN c.n - p.n <= CASE WHEN g.active THEN 31 ELSE 1 END
                    THEN g.followers_change END) AS followers_change,
           SUM(g.likes) AS likes,
           SUM(CASE WHEN c.n - p.n <= CASE WHEN g.active THEN 31 ELSE 1 END
                    THEN g.likes_change END) AS likes_change
    FROM groups g
    JOIN day_numbers c ON c.day = g.day
    LEFT JOIN day_numbers p ON p.day = g.prev_day
    GROUP BY g.day
    UNION ALL
    -- ...and summed ones.
    SELECT t.day, t.pages_reporting, t.followers, t.followers_change, t.likes, t.likes_change
    FROM unit_day_totals t
    JOIN target u ON u.id = t.unit_id
    WHERE (SELECT ok FROM summed) = 1
      AND t.day >= :from
      AND t.day <= :to
      AND ((SELECT live_from FROM bounds) IS NULL OR t.day < (SELECT live_from FROM bounds))
),
day_posts AS (
    -- As in unit_daily, a post counts on its local day when its Page has a snapshot that day.
    SELECT pl.local_day AS day,
           COUNT(*) AS posts,
           SUM(pl.reactions) AS reactions,
           SUM(pl.comments) AS comments,
           SUM(pl.shares) AS shares,
           SUM(pl.engagement) AS engagement
    FROM post_latest pl
    WHERE (SELECT posts_start FROM bounds) IS NOT NULL
      AND pl.page_id IN (SELECT page_id FROM unit_pages)
      AND pl.created_time >= (SELECT posts_start FROM bounds)
      AND pl.created_time < :to_end
      -- A scalar lookup (not EXISTS): planners then use the (page_id, day) key per post
      -- instead of hashing every snapshot of every Page.
      AND (SELECT COUNT(*) FROM page_snapshots x
           WHERE x.page_id = pl.page_id AND x.day = pl.local_day) = 1
    GROUP BY pl.local_day
    UNION ALL
    SELECT t.day, t.posts, t.reactions, t.comments, t.shares, t.engagement
    FROM unit_day_totals t
    JOIN target u ON u.id = t.unit_id
    WHERE (SELECT ok FROM summed) = 1
      AND t.day >= :from
      AND t.day <= :to
      AND ((SELECT posts_from FROM bounds) IS NULL OR t.day < (SELECT posts_from FROM bounds))
)
SELECT d.day AS day,
       d.pages_reporting,
       CAST(d.followers AS BIGINT) AS followers,
       CAST(d.followers_change AS BIGINT) AS followers_change,
       CAST(d.likes AS BIGINT) AS likes,
       CAST(d.likes_change AS BIGINT) AS likes_change,
       CAST(COALESCE(p.posts, 0) AS BIGINT) AS posts,
       CAST(COALESCE(p.reactions, 0) AS BIGINT) AS reactions,
       CAST(COALESCE(p.comments, 0) AS BIGINT) AS comments,
       CAST(COALESCE(p.shares, 0) AS BIGINT) AS shares,
       CAST(COALESCE(p.engagement, 0) AS BIGINT) AS engagement
FROM audience d
LEFT JOIN day_posts p ON p.day = d.day
ORDER BY d.day
