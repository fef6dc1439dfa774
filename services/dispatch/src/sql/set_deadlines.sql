WITH gone AS (
    DELETE FROM dispatch.deadline WHERE ticket_id = $1 AND NOT (clock = ANY($2::text[]))
)
INSERT INTO dispatch.deadline (ticket_id, clock, due_at)
SELECT $1, clock, due_at FROM unnest($2::text[], $3::timestamptz[]) AS d(clock, due_at)
ON CONFLICT (ticket_id, clock) DO UPDATE SET due_at = excluded.due_at
