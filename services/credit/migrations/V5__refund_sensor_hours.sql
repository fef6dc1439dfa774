-- The refunds' sensor evidence. A low-temperature episode files a complaint with the episode's
-- id, so its hours belong to that complaint's ticket (or, when the complaint merged into
-- another, to that one's).

-- Each complaint on a ticket (`TicketOpened`, `ComplaintAttached`).
CREATE TABLE credit.refund_ticket_complaint (
    complaint_id text PRIMARY KEY,
    ticket_id    text NOT NULL,
    log_tx       bigint NOT NULL,
    log_pos      bigint NOT NULL
);

-- A sensor episode's complaint merged into another of its household (intake's
-- `ComplaintMerged` of source sensor).
CREATE TABLE credit.refund_complaint_merge (
    complaint_id      text PRIMARY KEY,
    into_complaint_id text NOT NULL,
    log_tx            bigint NOT NULL,
    log_pos           bigint NOT NULL
);

-- The hours of a household's certified room sensors: each cold hour of a
-- `LowTemperatureDetected` and the warm hour of its `TemperatureRecovered`, at the hour's mean.
-- `seen_at` is when the event said it (detection or recovery), which places the hours in a
-- repair cycle.
CREATE TABLE credit.refund_sensor_hour (
    event_id   uuid NOT NULL,
    hour       timestamptz NOT NULL,
    episode_id text NOT NULL,
    household  text NOT NULL,
    tenths     integer NOT NULL,
    seen_at    timestamptz NOT NULL,
    log_tx     bigint NOT NULL,
    log_pos    bigint NOT NULL,
    PRIMARY KEY (event_id, hour)
);
CREATE INDEX refund_sensor_hour_household ON credit.refund_sensor_hour (household);
