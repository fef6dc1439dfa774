-- How many open tickets are in each band at $7 (now), under the queue's filters.
SELECT count(*) FILTER (WHERE breached OR sort_at <= $7) AS breached,
       count(*) FILTER (WHERE NOT breached AND sort_at > $7 AND paused) AS paused,
       count(*) FILTER (WHERE NOT breached AND sort_at > $7 AND NOT paused
                          AND risk_at <= $7) AS at_risk,
       count(*) AS total
FROM dispatch.ticket
WHERE is_open
  AND ($1::text IS NULL OR district = $1)
  AND ($2::text IS NULL OR supplier_id = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::text IS NULL OR priority = $4)
  AND ($5::text IS NULL OR crew_id = $5)
  AND ($6::text IS NULL OR channel = $6)
