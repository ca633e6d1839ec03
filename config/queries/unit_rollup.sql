-- A unit's daily figures: its own Page plus every Page of the units under it.
--
-- One row per local day on which at least one of those Pages has a snapshot; days without any
-- are missing, not zero. followers and likes are sums over the Pages that reported that day
-- (pages_reporting); the changes are against each Page's previous snapshot; posts and
-- engagement count the posts published that day, each at its latest snapshot.
-- @param unit text  the unit's code, as in the units file (e.g. 412)
-- @param from date=today-30  first local day, YYYY-MM-DD or today-N
-- @param to date=today  last local day, YYYY-MM-DD or today-N
SELECT day,
       pages_reporting,
       followers,
       followers_change,
       likes,
       likes_change,
       posts,
       reactions,
       comments,
       shares,
       engagement
FROM unit_daily
WHERE code = :unit
  AND day >= :from
  AND day <= :to
ORDER BY day
