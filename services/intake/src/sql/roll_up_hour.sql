-- One whole hour ($1) of raw readings aggregated per sensor, replacing what the hour held
-- (a roll-up made as readings arrived, before this pass existed, is recomputed the same).
INSERT INTO intake.reading_hourly AS h
    (sensor_id, hour, readings, celsius_sum, celsius_min, celsius_max, supply_c_sum,
     return_c_sum, pressure_kpa_sum, pressure_kpa_min, flow_m3h_sum, flow_m3h_max)
SELECT sensor_id, $1::timestamptz, count(*), sum(celsius), min(celsius), max(celsius),
       sum(supply_c), sum(return_c), sum(pressure_kpa), min(pressure_kpa), sum(flow_m3h),
       max(flow_m3h)
FROM intake.reading
WHERE measured_at >= $1::timestamptz AND measured_at < $1::timestamptz + interval '1 hour'
GROUP BY sensor_id
ORDER BY sensor_id
ON CONFLICT (sensor_id, hour) DO UPDATE SET
    readings = EXCLUDED.readings,
    celsius_sum = EXCLUDED.celsius_sum,
    celsius_min = EXCLUDED.celsius_min,
    celsius_max = EXCLUDED.celsius_max,
    supply_c_sum = EXCLUDED.supply_c_sum,
    return_c_sum = EXCLUDED.return_c_sum,
    pressure_kpa_sum = EXCLUDED.pressure_kpa_sum,
    pressure_kpa_min = EXCLUDED.pressure_kpa_min,
    flow_m3h_sum = EXCLUDED.flow_m3h_sum,
    flow_m3h_max = EXCLUDED.flow_m3h_max
