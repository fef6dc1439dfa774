-- A batch of readings, sorted by sensor and time, when none of its hours ($9) is rolled up yet
-- and none of it is stored: the plain insert (a reading stored already fails it with a unique
-- violation; an hour rolled up already makes it insert nothing). Answers by its row count.
INSERT INTO intake.reading
    (sensor_id, measured_at, received_at, celsius, supply_c, return_c, pressure_kpa, flow_m3h)
SELECT r.sensor_id, r.measured_at, $8, r.celsius, r.supply_c, r.return_c, r.pressure_kpa,
       r.flow_m3h
FROM unnest($1::text[], $2::timestamptz[], $3::real[], $4::real[], $5::real[], $6::real[],
            $7::real[])
     AS r (sensor_id, measured_at, celsius, supply_c, return_c, pressure_kpa, flow_m3h)
WHERE NOT EXISTS (SELECT 1 FROM intake.reading_hour_rolled WHERE hour = ANY($9::timestamptz[]))
