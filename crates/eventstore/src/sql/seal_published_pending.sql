-- The next events to seal: after the last sealed one, below the oldest running transaction.
SELECT tx_id::text AS tx_id_text, global_position, event_id, aggregate_type, aggregate_id, sequence,
       message_type AS event_type, '' AS event_version, payload,
       metadata::text AS metadata_text, recorded_at
FROM eventstore.published_event
WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY published_event.tx_id, published_event.global_position
LIMIT $3
