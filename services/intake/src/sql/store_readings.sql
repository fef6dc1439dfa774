-- A batch of readings, sorted by sensor and time: those not stored yet go in, and those of an
-- hour already rolled up ($9 lists the batch's hours; the others wait for their hour's pass)
-- are added to their sensor's hour; answers how many went in.
WITH inserted AS (
    INSERT INTO intake.reading
        (sensor_id, measured_at, received_at, celsius, supply_c, return_c, pressure_kpa, flow_m3h)
    SELECT r.sensor_id, r.measured_at, $8, r.celsius, r.supply_c, r.return_c, r.pressure_kpa,
           r.flow_m3h
    FROM unnest($1::text[], $2::timestamptz[], $3::real[], $4::real[], $5::real[], $6::real[],
                $7::real[])
         AS r (sensor_id, measured_at, celsius, supply_c, return_c, pressure_kpa, flow_m3h)
    ON CONFLICT (sensor_id, measured_at) DO NOTHING
    RETURNING *
), late AS (
    SELECT * FROM inserted
     WHERE date_trunc('hour', measured_at, 'UTC') IN
           (SELECT hour FROM intake.reading_hour_rolled WHERE hour = ANY($9::timestamptz[]))
), rolled AS (
    INSERT INTO intake.reading_hourly AS h
        (sensor_id, hour, readings, celsius_sum, celsius_min, celsius_max, supply_c_sum,
         return_c_sum, pressure_kpa_sum, pressure_kpa_min, flow_m3h_sum, flow_m3h_max)
    SELECT sensor_id, date_trunc('hour', measured_at, 'UTC'), count(*), sum(celsius),
           min(celsius), max(celsius), sum(supply_c), sum(return_c), sum(pressure_kpa),
           min(pressure_kpa), sum(flow_m3h), max(flow_m3h)
    FROM late
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (sensor_id, hour) DO UPDATE SET
        readings = h.readings + EXCLUDED.readings,
        celsius_sum = h.celsius_sum + EXCLUDED.celsius_sum,
        celsius_min = least(h.celsius_min, EXCLUDED.celsius_min),
        celsius_max = greatest(h.celsius_max, EXCLUDED.celsius_max),
        supply_c_sum = h.supply_c_sum + EXCLUDED.supply_c_sum,
        return_c_sum = h.return_c_sum + EXCLUDED.return_c_sum,
        pressure_kpa_sum = h.pressure_kpa_sum + EXCLUDED.pressure_kpa_sum,
        pressure_kpa_min = least(h.pressure_kpa_min, EXCLUDED.pressure_kpa_min),
        flow_m3h_sum = h.flow_m3h_sum + EXCLUDED.flow_m3h_sum,
        flow_m3h_max = greatest(h.flow_m3h_max, EXCLUDED.flow_m3h_max)
    RETURNING 1
)
SELECT count(*) FROM inserted
