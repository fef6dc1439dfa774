-- read_published.sql for one partition of a subscription: only the streams whose hash falls to
-- partition $5 of $4 (hashtext's int4 shifted to 0 .. 2^32 - 1, so the remainder is never
-- negative).
SELECT tx_id::text AS tx_id_text, global_position, event_id, message_type, payload,
       aggregate_type, aggregate_id, sequence, metadata, recorded_at
FROM eventstore.published_event
WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
  AND (hashtext(aggregate_type || '/' || aggregate_id)::bigint + 2147483648) % $4::bigint
      = $5::bigint
ORDER BY published_event.tx_id, published_event.global_position
LIMIT $3
