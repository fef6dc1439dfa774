INSERT INTO dispatch.ticket (ticket_id, version, origin, status, is_open, category, priority,
    district, station, building_id, supplier_id, crew_id, households, cycle, paused, breached,
    sort_at, next_clock, filed_at, opened_at, updated_at, risk_at, channel)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
    coalesce($17::timestamptz, '9999-12-31T00:00:00Z'), $18, $19, $20, $21, $22, $23)
ON CONFLICT (ticket_id) DO UPDATE SET
    version = excluded.version, status = excluded.status, is_open = excluded.is_open,
    district = excluded.district, station = excluded.station,
    building_id = excluded.building_id, supplier_id = excluded.supplier_id,
    crew_id = excluded.crew_id, households = excluded.households, cycle = excluded.cycle,
    paused = excluded.paused, breached = excluded.breached, sort_at = excluded.sort_at,
    next_clock = excluded.next_clock, updated_at = excluded.updated_at,
    risk_at = excluded.risk_at, channel = excluded.channel
