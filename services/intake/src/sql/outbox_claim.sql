SELECT work_order, status, note, occurred_at, attempts
FROM intake.hotline_outbox
WHERE event_id = $1 AND delivered_at IS NULL
FOR UPDATE SKIP LOCKED
