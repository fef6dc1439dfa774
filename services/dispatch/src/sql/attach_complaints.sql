INSERT INTO dispatch.ticket_complaint (complaint_id, ticket_id)
SELECT complaint_id, $1 FROM unnest($2::uuid[]) AS c(complaint_id)
ON CONFLICT (complaint_id) DO UPDATE SET ticket_id = excluded.ticket_id
