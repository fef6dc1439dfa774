-- A page of open tickets, nearest breach first, with each one's band at $11 (now): breached,
-- paused, at_risk (a quarter of the target or less left) or on_time.
SELECT ticket_id, version, origin, status, category, priority, district, station, building_id,
       supplier_id, crew_id, households, cycle, paused, breached, sort_at, next_clock, filed_at,
       opened_at, updated_at, channel,
       CASE WHEN breached OR sort_at <= $11 THEN 'breached'
            WHEN paused THEN 'paused'
            WHEN risk_at <= $11 THEN 'at_risk'
            ELSE 'on_time' END AS band
FROM dispatch.ticket
WHERE is_open
  AND ($1::text IS NULL OR district = $1)
  AND ($2::text IS NULL OR supplier_id = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::text IS NULL OR priority = $4)
  AND ($5::text IS NULL OR crew_id = $5)
  AND ($6::timestamptz IS NULL OR (sort_at, ticket_id) > ($6, $7))
  AND ($9::text IS NULL OR channel = $9)
  AND ($10::text IS NULL OR $10 = CASE WHEN breached OR sort_at <= $11 THEN 'breached'
                                       WHEN paused THEN 'paused'
                                       WHEN risk_at <= $11 THEN 'at_risk'
                                       ELSE 'on_time' END)
ORDER BY sort_at, ticket_id
LIMIT $8
