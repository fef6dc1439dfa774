-- The queue's rows of many tickets, one element per ticket in each array ($21 the time of
-- writing, the same for all).
INSERT INTO dispatch.ticket (ticket_id, version, origin, status, is_open, category, priority,
    district, station, building_id, supplier_id, crew_id, households, cycle, paused, breached,
    sort_at, next_clock, filed_at, opened_at, updated_at, risk_at, channel)
SELECT t.ticket_id, t.version, t.origin, t.status, t.is_open, t.category, t.priority,
    t.district, t.station, t.building_id, t.supplier_id, t.crew_id, t.households, t.cycle,
    t.paused, t.breached, coalesce(t.sort_at, '9999-12-31T00:00:00Z'), t.next_clock,
    t.filed_at, t.opened_at, $21::timestamptz, t.risk_at, t.channel
FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::boolean[], $6::text[],
    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int[],
    $14::int[], $15::boolean[], $16::boolean[], $17::timestamptz[], $18::text[],
    $19::timestamptz[], $20::timestamptz[], $22::timestamptz[], $23::text[])
    AS t(ticket_id, version, origin, status, is_open, category, priority, district, station,
    building_id, supplier_id, crew_id, households, cycle, paused, breached, sort_at,
    next_clock, filed_at, opened_at, risk_at, channel)
ON CONFLICT (ticket_id) DO UPDATE SET
    version = excluded.version, status = excluded.status, is_open = excluded.is_open,
    district = excluded.district, station = excluded.station,
    building_id = excluded.building_id, supplier_id = excluded.supplier_id,
    crew_id = excluded.crew_id, households = excluded.households, cycle = excluded.cycle,
    paused = excluded.paused, breached = excluded.breached, sort_at = excluded.sort_at,
    next_clock = excluded.next_clock, updated_at = excluded.updated_at,
    risk_at = excluded.risk_at, channel = excluded.channel
