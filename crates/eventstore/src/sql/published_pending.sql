-- Committed events past the checkpoint that the horizon still holds back. Written as an
-- ordered LIMIT 1 so it walks the log-order index: as an EXISTS the planner picks a
-- sequential scan, which reads the whole log before reaching the newest rows.
SELECT 1
FROM eventstore.published_event
WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
ORDER BY published_event.tx_id, published_event.global_position
LIMIT 1
