-- A ticket's complaints; a row already on this ticket is left as it is (no new row version for
-- every event of a ticket carrying many complaints).
INSERT INTO dispatch.ticket_complaint (complaint_id, ticket_id)
SELECT complaint_id, $1 FROM unnest($2::uuid[]) AS c(complaint_id)
ON CONFLICT (complaint_id) DO UPDATE SET ticket_id = excluded.ticket_id
WHERE dispatch.ticket_complaint.ticket_id IS DISTINCT FROM excluded.ticket_id
