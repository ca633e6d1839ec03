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
    -- Rank on the narrow columns first; names and messages are read for the winners only.
    SELECT post_id, engagement
    FROM post_latest
    WHERE created_time >= :from_start
      AND created_time < :to_end
      AND (:match = '' OR lower(message) LIKE '%' || lower(:match) || '%')
    ORDER BY engagement DESC, post_id
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
