-- A unit's daily figures: its own Page plus every Page of the units under it.
--
-- One row per local day on which at least one of those Pages has a snapshot; days without any
-- are missing, not zero. followers and likes are sums over the Pages that reported that day
-- (pages_reporting); the changes are against each Page's previous snapshot, so a Page on its
-- first day adds its followers but no change (like-for-like, as in unit_daily). unit_daily
-- (migration 0007) also leaves out a Page back after more than 31 days without a snapshot;
-- this query, written without dialect-specific date arithmetic, counts that Page's whole gap
-- on the day it is back. Posts and engagement count the posts published that day, each at
-- its latest snapshot.
-- The same figures as the unit_daily view, computed for this one unit only: its Pages'
-- snapshots once, with LAG for the previous one, so a whole year stays fast.
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
    SELECT ps.page_id,
           ps.day,
           ps.followers_count,
           ps.fan_count,
           ps.followers_count - LAG(ps.followers_count) OVER w AS followers_change,
           ps.fan_count - LAG(ps.fan_count) OVER w AS likes_change
    FROM page_snapshots ps
    WHERE ps.page_id IN (SELECT page_id FROM unit_pages)
      AND ps.day <= :to
    WINDOW w AS (PARTITION BY ps.page_id ORDER BY ps.day)
),
per_day AS (
    SELECT day,
           COUNT(*) AS pages_reporting,
           SUM(followers_count) AS followers,
           SUM(followers_change) AS followers_change,
           SUM(fan_count) AS likes,
           SUM(likes_change) AS likes_change
    FROM snaps
    WHERE day >= :from
    GROUP BY day
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
