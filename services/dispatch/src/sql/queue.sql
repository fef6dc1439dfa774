SELECT ticket_id, version, origin, status, category, priority, district, station, building_id,
       supplier_id, crew_id, households, cycle, paused, breached, sort_at, next_clock, filed_at,
       opened_at, updated_at
FROM dispatch.ticket
WHERE is_open
  AND ($1::text IS NULL OR district = $1)
  AND ($2::text IS NULL OR supplier_id = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::text IS NULL OR priority = $4)
  AND ($5::text IS NULL OR crew_id = $5)
  AND ($6::timestamptz IS NULL OR (sort_at, ticket_id) > ($6, $7))
ORDER BY sort_at, ticket_id
LIMIT $8
