-- One statement appends domain events and the integration events they publish, so a published
-- fact exists if and only if its domain events do: a command's events on one stream, or the
-- appends a batch queued on several streams, merged. A second writer that raced on a stream
-- fails on event_pkey: that is the optimistic concurrency check.
-- Rows are inserted in array order, so identity values follow stream sequence within the
-- transaction (the tests check every stream is delivered in sequence order), and merged
-- appends follow one another in the order they were queued.
-- An append must be its transaction's first write (or, with $16, follow an append of the same
-- transaction): the check runs once, before the first insert, and when it fails nothing is
-- written and no row is returned.
WITH domain AS (
    INSERT INTO eventstore.event
        (aggregate_type, aggregate_id, sequence, event_id, event_type, event_version, payload, metadata)
    SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_id, e.event_type, e.event_version,
           e.payload, e.metadata
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[],
                $7::jsonb[], $8::jsonb[])
        AS e(aggregate_type, aggregate_id, sequence, event_id, event_type, event_version, payload,
             metadata)
    WHERE (SELECT $16::bool OR pg_current_xact_id_if_assigned() IS NULL)
    RETURNING global_position, tx_id, recorded_at
), published AS (
    INSERT INTO eventstore.published_event
        (event_id, message_type, payload, aggregate_type, aggregate_id, sequence, metadata)
    SELECT p.event_id, p.message_type, p.payload, p.aggregate_type, p.aggregate_id, p.sequence,
           p.metadata
    FROM unnest($9::uuid[], $10::text[], $11::bytea[], $12::text[], $13::text[], $14::bigint[],
                $15::jsonb[])
        AS p(event_id, message_type, payload, aggregate_type, aggregate_id, sequence, metadata)
    WHERE EXISTS (SELECT 1 FROM domain)
    RETURNING global_position
)
SELECT tx_id::text AS tx_id_text,
       max(global_position) AS last_position,
       (SELECT max(global_position) FROM published) AS last_published,
       min(recorded_at) AS recorded_at
FROM domain
GROUP BY tx_id
