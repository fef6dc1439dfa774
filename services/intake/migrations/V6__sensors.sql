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
