-- The Pages that failed in the latest collection run, and why.
--
-- The latest run is the one that started last (it may still be running: run_status says).
-- kind is token, permission, throttled, unpublished, not_found, transient, metric or other;
-- code and subcode are the Graph API's; retry_after_minutes is set when Meta asked fanpulse
-- to slow down. An error that concerns no single Page has an empty page. Gaps (a Page
-- collected without its posts or insights: page_errors.severity = 'gap') are not failures;
-- pages.access and pages.access_action say what each Page is missing.
SELECT r.id AS run_id,
       r.started_at,
       r.status AS run_status,
       t.code,
       t.path AS unit,
       p.ref AS page,
       p.name AS page_name,
       e.kind,
       e.code AS error_code,
       e.subcode AS error_subcode,
       e.message,
       e.retry_after_minutes,
       e.occurred_at
FROM page_errors e
JOIN collection_runs r ON r.id = e.run_id
LEFT JOIN pages p ON p.id = e.page_id
LEFT JOIN unit_tree t ON t.unit_id = p.unit_id
WHERE e.run_id = (SELECT id FROM collection_runs ORDER BY started_at DESC, id DESC LIMIT 1)
  AND e.severity = 'failed'
ORDER BY e.kind, p.ref NULLS FIRST, e.id
