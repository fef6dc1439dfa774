-- Outdoor thermometers: a sensor of kind `outdoor` stands for its district's weather. It has a
-- district and neither building, home nor station; its readings are temperatures, stored and
-- rolled up as any other sensor's.
ALTER TABLE intake.sensor DROP CONSTRAINT sensor_kind_check;
ALTER TABLE intake.sensor DROP CONSTRAINT sensor_check1;
ALTER TABLE intake.sensor ALTER COLUMN station DROP NOT NULL;
ALTER TABLE intake.sensor ADD COLUMN district text;
ALTER TABLE intake.sensor ADD CONSTRAINT sensor_kind_check
    CHECK (kind IN ('room', 'building', 'station', 'outdoor'));
ALTER TABLE intake.sensor ADD CONSTRAINT sensor_building_check
    CHECK ((kind IN ('station', 'outdoor')) = (building_id IS NULL));
ALTER TABLE intake.sensor ADD CONSTRAINT sensor_place_check
    CHECK (CASE kind WHEN 'outdoor' THEN district IS NOT NULL AND station IS NULL
                     ELSE district IS NULL AND station IS NOT NULL END);
CREATE INDEX sensor_district ON intake.sensor (district) WHERE district IS NOT NULL;

ALTER TABLE intake.sensor_silent ALTER COLUMN station DROP NOT NULL;

-- Suspected supply reductions: a station whose room and building sensors fell together while
-- its district's outdoor temperature did not fall as much. Each is a SupplyReductionSuspected
-- event; a regulator confirms it (with a note) or dismisses it (with a reason). `figures` keeps
-- the means compared, per sensor and outdoors, from intake.reading_hourly.
CREATE TABLE intake.supply_alert (
    alert_id     uuid PRIMARY KEY,
    station      text NOT NULL,
    district     text,
    supplier_id  text,
    raised_at    timestamptz NOT NULL,
    figures      jsonb NOT NULL,
    status       text NOT NULL CHECK (status IN ('open', 'confirmed', 'dismissed')),
    decided_at   timestamptz,
    decided_by   text,
    note         text
);

CREATE INDEX supply_alert_station ON intake.supply_alert (station, raised_at DESC);
CREATE INDEX supply_alert_status ON intake.supply_alert (status, raised_at DESC);
