-- Only below the oldest transaction still running: everything there has either committed or
-- rolled back, so no event can later appear behind the returned ones.
SELECT tx_id::text AS tx_id_text, global_position, event_id, message_type, payload,
       aggregate_type, aggregate_id, sequence, metadata, recorded_at
FROM eventstore.published_event
WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY published_event.tx_id, published_event.global_position
LIMIT $3
