-- Units that did not carry campaign X: each directive post (seed) of the campaign found in the
-- store, and each active unit below the seed's unit that has not carried it.
--
-- status tells the two apart: not_carried (the unit's Page posted after the directive, within
-- the campaign's carry_days, but did not share, link or re-post it), silent (its Page posted
-- nothing in that window) and no_page (the unit has no active Page). last_post is its Pages'
-- latest post up to the window's end (UTC), posts_in_window how many they published in it.
-- The rows are those of the cascade_coverage view (docs/schema.md), which the campaign page of
-- the reports shows; campaign keys are in the campaigns file (`fanpulse campaigns list`).
-- @param campaign text  the campaign's key, e.g. dai-doan-ket-2026
SELECT c.seed_time,
       sp.permalink_url AS seed,
       t.code,
       t.path AS unit,
       c.level,
       c.status,
       c.posts_in_window,
       c.last_post_time AS last_post
FROM cascade_coverage c
JOIN posts sp ON sp.id = c.seed_post_id
JOIN unit_tree t ON t.unit_id = c.unit_id
WHERE c.campaign = :campaign
  AND c.status <> 'carried'
ORDER BY c.seed_time, t.path
