-- Hours rolled up whole. Readings are stored raw as they arrive; once an hour is over, one pass
-- aggregates its raw readings into intake.reading_hourly (replacing whatever an hour held) and
-- records the hour here. A reading that arrives later for a recorded hour is added to its
-- roll-up as it is stored. Writers of an hour hold a shared advisory lock on it for their
-- transaction, the pass an exclusive one, so no reading falls between the two.
CREATE TABLE intake.reading_hour_rolled (
    hour       timestamptz PRIMARY KEY,
    rolled_at  timestamptz NOT NULL,
    readings   bigint NOT NULL
);
