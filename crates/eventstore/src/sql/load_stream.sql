SELECT sequence, event_id, event_type, event_version, payload, metadata,
       tx_id::text AS tx_id_text, global_position, recorded_at
FROM eventstore.event
WHERE aggregate_type = $1 AND aggregate_id = $2
ORDER BY sequence
