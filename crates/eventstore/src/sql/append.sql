-- One statement appends a command's domain events and the integration events they publish,
-- so a published fact exists if and only if its domain events do. A second writer that raced
-- on the same stream fails on event_pkey: that is the optimistic concurrency check.
WITH domain AS (
    INSERT INTO eventstore.event
        (aggregate_type, aggregate_id, sequence, event_id, event_type, event_version, payload, metadata)
    SELECT $1, $2, e.sequence, e.event_id, e.event_type, e.event_version, e.payload, e.metadata
    FROM unnest($3::bigint[], $4::uuid[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[])
        AS e(sequence, event_id, event_type, event_version, payload, metadata)
    ORDER BY e.sequence
    RETURNING global_position, tx_id, recorded_at
), published AS (
    INSERT INTO eventstore.published_event
        (event_id, message_type, payload, aggregate_type, aggregate_id, sequence, metadata)
    SELECT p.event_id, p.message_type, p.payload, $1, $2, p.sequence, p.metadata
    FROM unnest($9::uuid[], $10::text[], $11::bytea[], $12::bigint[], $13::jsonb[]) WITH ORDINALITY
        AS p(event_id, message_type, payload, sequence, metadata, ord)
    ORDER BY p.ord
    RETURNING global_position
)
SELECT (SELECT tx_id::text FROM domain LIMIT 1) AS tx_id_text,
       (SELECT max(global_position) FROM domain) AS last_position,
       (SELECT max(global_position) FROM published) AS last_published,
       (SELECT min(recorded_at) FROM domain) AS recorded_at
