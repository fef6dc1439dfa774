-- The events a seal covers, in its order.
SELECT tx_id::text AS tx_id_text, global_position, event_id, aggregate_type, aggregate_id, sequence,
       event_type, event_version, convert_to(payload::text, 'UTF8') AS payload,
       metadata::text AS metadata_text, recorded_at
FROM eventstore.event
WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
  AND (tx_id, global_position) <= ($3::text::xid8, $4::bigint)
ORDER BY event.tx_id, event.global_position
