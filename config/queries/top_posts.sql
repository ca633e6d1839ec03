-- The posts of a period with the most engagement (reactions + comments + shares).
--
-- Posts published from `from` to `to` (local days, both included), each at its latest
-- snapshot (post_latest). Give `match` to keep only the posts whose message contains that
-- text, in any case: --param match="18/11" or --param match="lễ hội". Deleted posts are
-- kept, with deleted_at set. Equal engagement: the post stored first comes first.
-- @param from date=today-30  first local day, YYYY-MM-DD or today-N
-- @param to date=today  last local day, YYYY-MM-DD or today-N
-- @param match text=  text the message must contain; empty: every post
-- @param limit int=20  how many posts to show
WITH best AS (
    -- Rank on the narrow columns first, each post's engagement at its latest snapshot found by
    -- the (post_id, day) key (as post_latest: 0 when never collected); names and messages are
    -- read for the winners only.
    SELECT p.id AS post_id,
           COALESCE((SELECT COALESCE(x.reactions, 0) + COALESCE(x.comments, 0)
                            + COALESCE(x.shares, 0)
                     FROM post_snapshots x
                     WHERE x.post_id = p.id
                     ORDER BY x.day DESC LIMIT 1), 0) AS engagement
    FROM posts p
    WHERE p.created_time >= :from_start
      AND p.created_time < :to_end
      AND (:match = '' OR lower(p.message) LIKE '%' || lower(:match) || '%')
    ORDER BY engagement DESC, p.id
    LIMIT :limit
)
SELECT pl.local_day AS day,
       t.name AS unit,
       pg.name AS page,
       pl.engagement,
       pl.reactions,
       pl.comments,
       pl.shares,
       pl.message,
       pl.permalink_url,
       pl.deleted_at
FROM best
JOIN post_latest pl ON pl.post_id = best.post_id
JOIN pages pg ON pg.id = pl.page_id
LEFT JOIN unit_tree t ON t.unit_id = pl.unit_id
ORDER BY best.engagement DESC, best.post_id
