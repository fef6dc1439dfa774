-- The deadlines of tickets $1: for each, the clocks ($3) still pending, due at $4 ($2 the
-- ticket each belongs to). A ticket's other deadlines are gone.
WITH pending AS (
    SELECT * FROM unnest($2::uuid[], $3::text[], $4::timestamptz[]) AS d(ticket_id, clock, due_at)
), gone AS (
    DELETE FROM dispatch.deadline d WHERE d.ticket_id = ANY($1::uuid[])
        AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.ticket_id = d.ticket_id AND p.clock = d.clock)
)
INSERT INTO dispatch.deadline (ticket_id, clock, due_at)
SELECT ticket_id, clock, due_at FROM pending
ON CONFLICT (ticket_id, clock) DO UPDATE SET due_at = excluded.due_at
