-- Active Pages that have published nothing since a given day (default: the last 30 days).
--
-- last_post is the newest post the collector has seen (UTC); it is empty for a Page that
-- never posted or was never collected. last_collected says when the collector last read the
-- Page, so a Page that is silent because collection fails shows up too. Inactive Pages
-- (their unit was retired or given another Page) are left out.
-- @param since date=today-30  first local day of the quiet period, YYYY-MM-DD or today-N
SELECT t.code,
       t.path AS unit,
       p.ref AS page,
       p.name AS page_name,
       (SELECT MAX(po.created_time) FROM posts po WHERE po.page_id = p.id) AS last_post,
       p.last_success_at AS last_collected
FROM pages p
LEFT JOIN unit_tree t ON t.unit_id = p.unit_id
WHERE p.active
  AND NOT EXISTS (
      SELECT 1 FROM posts po
      WHERE po.page_id = p.id AND po.created_time >= :since_start
  )
ORDER BY last_post NULLS FIRST, p.ref
