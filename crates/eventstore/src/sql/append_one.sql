-- The common case of append.sql, one domain event publishing at most one integration event,
-- as single-row inserts: measurably cheaper for PostgreSQL than unnesting arrays.
-- As in append.sql, nothing is written (and no row returned) when the transaction has written
-- before, unless $13 says this append follows one of the same transaction.
WITH domain AS (
    INSERT INTO eventstore.event
        (aggregate_type, aggregate_id, sequence, event_id, event_type, event_version, payload, metadata)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8
    WHERE (SELECT $13::bool OR pg_current_xact_id_if_assigned() IS NULL)
    RETURNING global_position, tx_id, recorded_at
), published AS (
    INSERT INTO eventstore.published_event
        (event_id, message_type, payload, aggregate_type, aggregate_id, sequence, metadata)
    SELECT $9, $10, $11, $1, $2, $3, $12
    FROM domain
    WHERE $9::uuid IS NOT NULL
    RETURNING global_position
)
SELECT tx_id::text AS tx_id_text,
       global_position AS last_position,
       (SELECT global_position FROM published) AS last_published,
       recorded_at
FROM domain
