-- A subscription's read of the public log: up to `max_events` events after the checkpoint
-- (`after_tx`, `after_position`), below the horizon of running transactions, in log order;
-- of one partition of the streams when `partitions` is given (hashtext's int4 shifted to
-- 0 .. 2^32 - 1, so the remainder is never negative); whole (payload and metadata) only for
-- the message types in `types` (all when it is null), so that the checkpoint passes the
-- others without their bytes being sent and decoded.
--
-- The read must walk the log-order index from the checkpoint and stop at `max_events`. Planned
-- while the log was small or its statistics stale (a new deployment, the first minutes after a
-- burst), PostgreSQL chose to fetch every event past the checkpoint by a bitmap scan and sort
-- them, and kept that plan for the session: a subscription behind by thousands of events read
-- all of them for each batch. Sorting and bitmap scans are off while this function plans, so
-- the index walk is the plan at any size.
CREATE FUNCTION eventstore.read_log(after_tx xid8, after_position bigint, max_events bigint,
    types text[], partitions bigint, partition bigint)
RETURNS TABLE (tx_id_text text, global_position bigint, event_id uuid, message_type text,
    aggregate_type text, aggregate_id text, sequence bigint, recorded_at timestamptz,
    wanted boolean, payload bytea, metadata jsonb)
LANGUAGE plpgsql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT e.tx_id::text, e.global_position, e.event_id, e.message_type, e.aggregate_type,
           e.aggregate_id, e.sequence, e.recorded_at, e.wanted,
           CASE WHEN e.wanted THEN e.payload END, CASE WHEN e.wanted THEN e.metadata END
    FROM (
        -- The type is matched once per event, here.
        SELECT p.*, types IS NULL OR p.message_type = ANY(types) AS wanted
        FROM eventstore.published_event p
        WHERE (p.tx_id, p.global_position) > (after_tx, after_position)
          AND p.tx_id < pg_snapshot_xmin(pg_current_snapshot())
          AND (partitions IS NULL
               OR (hashtext(p.aggregate_type || '/' || p.aggregate_id)::bigint + 2147483648)
                  % partitions = partition)
        ORDER BY p.tx_id, p.global_position
        LIMIT max_events
    ) e;
END $$;
