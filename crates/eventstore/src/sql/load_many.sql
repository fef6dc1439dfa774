-- Several streams of one aggregate type at once ($2: their ids), each in sequence order.
SELECT aggregate_id, sequence, payload
FROM eventstore.event
WHERE aggregate_type = $1 AND aggregate_id = ANY($2::text[])
ORDER BY aggregate_id, sequence
