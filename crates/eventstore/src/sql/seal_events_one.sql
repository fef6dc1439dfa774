-- One event, by id.
SELECT tx_id::text AS tx_id_text, global_position, event_id, aggregate_type, aggregate_id, sequence,
       event_type, event_version, convert_to(payload::text, 'UTF8') AS payload,
       metadata::text AS metadata_text, recorded_at
FROM eventstore.event
WHERE event_id = $1
