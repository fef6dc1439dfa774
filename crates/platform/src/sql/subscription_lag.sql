-- The named subscriptions of a schema: how many published events lie past its checkpoint, how
-- old the oldest of them is (0 when none), and whether the checkpoint has reached the position
-- $2 (xid8 as text), $3 (the log's head at start). {schema} is a plain identifier put in by the
-- caller.
SELECT c.name,
       (SELECT count(*) FROM eventstore.published_event e
         WHERE (e.tx_id, e.global_position) > (c.tx_id, c.global_position)),
       (SELECT coalesce(extract(epoch FROM now() - min(e.recorded_at)), 0)::float8
          FROM eventstore.published_event e
         WHERE (e.tx_id, e.global_position) > (c.tx_id, c.global_position)),
       (c.tx_id, c.global_position) >= ($2::text::xid8, $3::bigint)
FROM {schema}.subscription_checkpoint c
WHERE c.name = ANY($1::text[])
ORDER BY c.name
