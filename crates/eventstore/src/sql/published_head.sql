-- The newest committed event of the public log (by the readers' order).
SELECT tx_id::text AS tx_id_text, global_position
FROM eventstore.published_event
ORDER BY published_event.tx_id DESC, published_event.global_position DESC
LIMIT 1
