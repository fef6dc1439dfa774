-- The oldest undelivered update of each work order, when it is due: a work order's updates
-- reach the platform in the order they happened.
SELECT event_id
FROM (
    SELECT DISTINCT ON (work_order) event_id, next_attempt_at
    FROM intake.hotline_outbox
    WHERE delivered_at IS NULL
    ORDER BY work_order, seq
) heads
WHERE next_attempt_at <= now()
ORDER BY next_attempt_at
LIMIT 100
