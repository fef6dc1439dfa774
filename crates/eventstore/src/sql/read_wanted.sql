-- read_published.sql for a subscription that wants only some message types ($4), optionally
-- one partition of its streams ($6 of $5, as read_published_partition.sql): every event past
-- the checkpoint comes back in log order, but the body (payload and metadata) only of those it
-- wants, so that its checkpoint passes the others without their bytes being sent and decoded.
SELECT tx_id::text AS tx_id_text, global_position, event_id, message_type,
       aggregate_type, aggregate_id, sequence, recorded_at,
       message_type = ANY($4::text[]) AS wanted,
       CASE WHEN message_type = ANY($4::text[]) THEN payload END AS payload,
       CASE WHEN message_type = ANY($4::text[]) THEN metadata END AS metadata
FROM eventstore.published_event
WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
  AND ($5::bigint IS NULL
       OR (hashtext(aggregate_type || '/' || aggregate_id)::bigint + 2147483648) % $5::bigint
          = $6::bigint)
ORDER BY published_event.tx_id, published_event.global_position
LIMIT $3
