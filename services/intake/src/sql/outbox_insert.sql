INSERT INTO intake.hotline_outbox (event_id, work_order, status, note, occurred_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (event_id) DO NOTHING
