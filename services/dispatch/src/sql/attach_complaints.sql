-- Which ticket carries each complaint ($1 the complaints, $2 their tickets, each complaint
-- once); a row already on its ticket is left as it is (no new row version for every event of
-- a ticket carrying many complaints).
INSERT INTO dispatch.ticket_complaint (complaint_id, ticket_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[])
ON CONFLICT (complaint_id) DO UPDATE SET ticket_id = excluded.ticket_id
WHERE dispatch.ticket_complaint.ticket_id IS DISTINCT FROM excluded.ticket_id
