-- The sensor registry: room thermometers in homes (certified for evidence or not), sensors
-- that stand for a whole building, and a heat-exchange station's network telemetry. A home is
-- kept by its household key only, as the household registry keeps it.
CREATE TABLE intake.sensor (
    sensor_id       text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('room', 'building', 'station')),
    building_id     text,
    household       text,
    station         text NOT NULL,
    room            text,
    certified       boolean NOT NULL,
    installed_on    date NOT NULL,
    imported_at     timestamptz NOT NULL,
    CHECK ((kind = 'room') = (household IS NOT NULL)),
    CHECK ((kind = 'station') = (building_id IS NULL))
);

CREATE INDEX sensor_household ON intake.sensor (household) WHERE household IS NOT NULL;
CREATE INDEX sensor_building ON intake.sensor (building_id) WHERE building_id IS NOT NULL;
CREATE INDEX sensor_station ON intake.sensor (station);

-- Readings, one row per sensor and moment, partitioned by UTC day (intake.reading_pYYYYMMDD,
-- created ahead by intake and dropped after the retention period). A room or building sensor
-- fills celsius; a station sensor the other four.
CREATE TABLE intake.reading (
    sensor_id       text NOT NULL,
    measured_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    celsius         real,
    supply_c        real,
    return_c        real,
    pressure_kpa    real,
    flow_m3h        real,
    PRIMARY KEY (sensor_id, measured_at)
) PARTITION BY RANGE (measured_at);

-- Each sensor's hour, rolled up as its readings arrive (averages are sum / readings).
CREATE TABLE intake.reading_hourly (
    sensor_id           text NOT NULL,
    hour                timestamptz NOT NULL,
    readings            integer NOT NULL,
    celsius_sum         double precision,
    celsius_min         real,
    celsius_max         real,
    supply_c_sum        double precision,
    return_c_sum        double precision,
    pressure_kpa_sum    double precision,
    pressure_kpa_min    real,
    flow_m3h_sum        double precision,
    flow_m3h_max        real,
    PRIMARY KEY (sensor_id, hour)
);
