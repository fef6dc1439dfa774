-- Several streams of one aggregate type at once: $2 their ids, $3 for each the sequence already
-- known (0: none); only the events after it, each stream in sequence order.
SELECT e.aggregate_id, e.sequence, e.payload
FROM unnest($2::text[], $3::bigint[]) AS k(aggregate_id, after)
JOIN eventstore.event e
  ON e.aggregate_type = $1 AND e.aggregate_id = k.aggregate_id AND e.sequence > k.after
ORDER BY e.aggregate_id, e.sequence
