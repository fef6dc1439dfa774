-- One event, by id.
SELECT tx_id::text AS tx_id_text, global_position, event_id, aggregate_type, aggregate_id, sequence,
       message_type AS event_type, '' AS event_version, payload,
       metadata::text AS metadata_text, recorded_at
FROM eventstore.published_event
WHERE event_id = $1
