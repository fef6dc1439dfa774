-- Low-temperature episodes: a home whose room sensors read below the standard for whole hours
-- on end. Each files a complaint (source `sensor`); `complaint_id` is the complaint that holds
-- it (its own, or the home's open one it merged into), NULL until filed. `hours` keeps the
-- cold hours behind it as [{hour, mean, lowest, readings}] from intake.reading_hourly, which
-- outlive the raw readings.
CREATE TABLE intake.sensor_episode (
    episode_id      uuid PRIMARY KEY,
    household       text NOT NULL,
    building_id     text,
    sensors         text[] NOT NULL,
    since           timestamptz NOT NULL,
    opened_at       timestamptz NOT NULL,
    hours           jsonb NOT NULL,
    complaint_id    uuid,
    recovered_at    timestamptz
);

-- At most one open episode per home.
CREATE UNIQUE INDEX sensor_episode_open ON intake.sensor_episode (household)
    WHERE recovered_at IS NULL;
CREATE INDEX sensor_episode_unfiled ON intake.sensor_episode (episode_id)
    WHERE complaint_id IS NULL;
