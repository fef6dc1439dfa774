-- The next events to seal: after the last sealed one, below the oldest running transaction.
SELECT tx_id::text AS tx_id_text, global_position, event_id, aggregate_type, aggregate_id, sequence,
       event_type, event_version, convert_to(payload::text, 'UTF8') AS payload,
       metadata::text AS metadata_text, recorded_at
FROM eventstore.event
WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY event.tx_id, event.global_position
LIMIT $3
