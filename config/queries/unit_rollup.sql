-- A unit's daily figures: its own Page plus every Page of the units under it.
--
-- One row per local day on which at least one of those Pages has a snapshot; days without any
-- are missing, not zero. followers and likes are sums over the Pages that reported that day
-- (pages_reporting); the changes are against each Page's previous snapshot, like-for-like as
-- in unit_daily (migration 0007): a Page on its first day adds its followers but no change,
-- and so does a Page back after more than 31 days without a snapshot (1 day for a Page no
-- longer collected). Posts and engagement count the posts published that day, each at its
-- latest snapshot.
-- The same figures as the unit_daily view, computed for this one unit and period only: its
-- Pages' snapshots from 31 days before `from` (the oldest previous snapshot a change may be
-- against) to `to`, once each, with LAG for the previous one; so a year costs the same however
-- long the history is. The gap between two snapshots is counted in days through a day number
-- worked out from the YYYY-MM-DD text, once per pair of days, the same on both databases.
-- @param unit unit  the unit's code, as in the units file (e.g. 412); an unknown code is refused
-- @param from date=today-30  first local day, YYYY-MM-DD or today-N
-- @param to date=today  last local day, YYYY-MM-DD or today-N
WITH unit_pages AS (
    SELECT pg.id AS page_id
    FROM units u
    JOIN unit_descendants d ON d.ancestor_id = u.id
    JOIN pages pg ON pg.unit_id = d.unit_id
    WHERE u.code = :unit
),
snaps AS (
    SELECT ps.day,
           ps.followers_count,
           ps.fan_count,
           LAG(ps.day) OVER w AS prev_day,
           LAG(ps.followers_count) OVER w AS prev_followers,
           LAG(ps.fan_count) OVER w AS prev_likes
    FROM page_snapshots ps
    WHERE ps.page_id IN (SELECT page_id FROM unit_pages)
      AND ps.day >= :from_lookback
      AND ps.day <= :to
    WINDOW w AS (PARTITION BY ps.page_id ORDER BY ps.day)
),
groups AS (
    -- The snapshots of a day by the day of their previous one: a few rows per day, so the
    -- gap between the two is worked out per group, not per snapshot. The *_n columns count
    -- the changes that are there (a missing count has none).
    SELECT day,
           prev_day,
           COUNT(*) AS pages_reporting,
           SUM(followers_count) AS followers,
           SUM(followers_count - prev_followers) AS followers_change,
           COUNT(followers_count - prev_followers) AS followers_change_n,
           SUM(fan_count) AS likes,
           SUM(fan_count - prev_likes) AS likes_change,
           COUNT(fan_count - prev_likes) AS likes_change_n
    FROM snaps
    WHERE day >= :from
    GROUP BY day, prev_day
),
inactive_groups AS (
    -- The same for the Pages no longer collected (few), whose change counts after 1 day only.
    SELECT day,
           prev_day,
           SUM(followers_count - prev_followers) AS followers_change,
           COUNT(followers_count - prev_followers) AS followers_change_n,
           SUM(fan_count - prev_likes) AS likes_change,
           COUNT(fan_count - prev_likes) AS likes_change_n
    FROM (
        SELECT ps.day,
               ps.followers_count,
               ps.fan_count,
               LAG(ps.day) OVER w AS prev_day,
               LAG(ps.followers_count) OVER w AS prev_followers,
               LAG(ps.fan_count) OVER w AS prev_likes
        FROM page_snapshots ps
        WHERE ps.page_id IN (SELECT up.page_id FROM unit_pages up
                             JOIN pages pg ON pg.id = up.page_id
                             WHERE NOT pg.active)
          AND ps.day >= :from_lookback
          AND ps.day <= :to
        WINDOW w AS (PARTITION BY ps.page_id ORDER BY ps.day)
    ) i
    WHERE day >= :from
    GROUP BY day, prev_day
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
all_days AS (
    -- Every Page's change when its previous snapshot is at most 31 days earlier...
    SELECT g.day,
           SUM(g.pages_reporting) AS pages_reporting,
           SUM(g.followers) AS followers,
           SUM(CASE WHEN c.n - p.n <= 31 THEN g.followers_change END) AS followers_change,
           SUM(CASE WHEN c.n - p.n <= 31 THEN g.followers_change_n ELSE 0 END)
               AS followers_change_n,
           SUM(g.likes) AS likes,
           SUM(CASE WHEN c.n - p.n <= 31 THEN g.likes_change END) AS likes_change,
           SUM(CASE WHEN c.n - p.n <= 31 THEN g.likes_change_n ELSE 0 END) AS likes_change_n
    FROM groups g
    JOIN day_numbers c ON c.day = g.day
    LEFT JOIN day_numbers p ON p.day = g.prev_day
    GROUP BY g.day
),
inactive_days AS (
    -- ...less those of the Pages no longer collected whose previous one is 2 to 31 days old.
    SELECT g.day,
           SUM(g.followers_change) AS followers_change,
           SUM(g.followers_change_n) AS followers_change_n,
           SUM(g.likes_change) AS likes_change,
           SUM(g.likes_change_n) AS likes_change_n
    FROM inactive_groups g
    JOIN day_numbers c ON c.day = g.day
    JOIN day_numbers p ON p.day = g.prev_day
    WHERE c.n - p.n > 1 AND c.n - p.n <= 31
    GROUP BY g.day
),
per_day AS (
    SELECT a.day,
           a.pages_reporting,
           a.followers,
           CASE WHEN a.followers_change_n - COALESCE(x.followers_change_n, 0) > 0
                THEN a.followers_change - COALESCE(x.followers_change, 0) END
               AS followers_change,
           a.likes,
           CASE WHEN a.likes_change_n - COALESCE(x.likes_change_n, 0) > 0
                THEN a.likes_change - COALESCE(x.likes_change, 0) END AS likes_change
    FROM all_days a
    LEFT JOIN inactive_days x ON x.day = a.day
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
    WHERE pl.page_id IN (SELECT page_id FROM unit_pages)
      AND pl.created_time >= :from_start
      AND pl.created_time < :to_end
      -- A scalar lookup (not EXISTS): planners then use the (page_id, day) key per post
      -- instead of hashing every snapshot of every Page.
      AND (SELECT COUNT(*) FROM page_snapshots x
           WHERE x.page_id = pl.page_id AND x.day = pl.local_day) = 1
    GROUP BY pl.local_day
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
FROM per_day d
LEFT JOIN day_posts p ON p.day = d.day
ORDER BY d.day
