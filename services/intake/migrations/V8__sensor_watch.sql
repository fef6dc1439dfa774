-- Sensors that sent nothing for the configured hours (each also a SensorSilent event); the row
-- goes when the sensor reports again (SensorResumed). The route is kept for scoping: a
-- supplier's staff see their own sensors.
CREATE TABLE intake.sensor_silent (
    sensor_id        text PRIMARY KEY,
    kind             text NOT NULL,
    household        text,
    building_id      text,
    station          text NOT NULL,
    district         text,
    supplier_id      text,
    last_reading_at  timestamptz,
    silenced_at      timestamptz NOT NULL
);

CREATE INDEX sensor_silent_supplier ON intake.sensor_silent (supplier_id, silenced_at);

-- Drops in a station's telemetry (suspected network leaks): each is a NetworkAnomalyDetected
-- event of its anomaly (drops close together share one) and an urgent leak complaint,
-- `complaint_id` once filed. `figures` keeps the means compared ({baseline_pressure, pressure,
-- baseline_flow, flow, from, to, readings}); `reading_at` is the last reading it counted, and
-- the sensor's readings up to it are not counted again.
CREATE TABLE intake.network_drop (
    drop_id      uuid PRIMARY KEY,
    anomaly_id   uuid NOT NULL,
    station      text NOT NULL,
    sensor_id    text NOT NULL,
    reading_at   timestamptz NOT NULL,
    detected_at  timestamptz NOT NULL,
    figures      jsonb NOT NULL,
    complaint_id uuid
);

CREATE INDEX network_drop_sensor ON intake.network_drop (sensor_id, reading_at);
CREATE INDEX network_drop_station ON intake.network_drop (station, detected_at);
CREATE INDEX network_drop_unfiled ON intake.network_drop (drop_id) WHERE complaint_id IS NULL;

-- A complaint about a station's network has a supplier but no building: "unrouted" means no
-- supplier.
DROP INDEX intake.complaint_unrouted;
CREATE INDEX complaint_unrouted ON intake.complaint (filed_at)
    WHERE supplier_id IS NULL AND status = 'open';
