-- Stop-heating (and restore) applications on the suppliers' desks, written with the case's
-- events; the reply deadline is watched by the timer while the case waits for a reply.
CREATE TABLE dispatch.stop_heating (
    application_id  uuid PRIMARY KEY,
    kind            text NOT NULL,
    season          text NOT NULL,
    household       text NOT NULL,
    building_id     text NOT NULL,
    district        text NOT NULL,
    supplier_id     text NOT NULL,
    reason          text NOT NULL,
    applied_at      timestamptz NOT NULL,
    reply_by        timestamptz NOT NULL,
    status          text NOT NULL,
    refusal         text,
    note            text NOT NULL DEFAULT '',
    crew_id         uuid,
    replied_at      timestamptz,
    breached_at     timestamptz,
    done_at         timestamptz,
    photo_sha256    text,
    version         bigint NOT NULL
);

CREATE INDEX stop_heating_reply_due ON dispatch.stop_heating (reply_by)
    WHERE status = 'applied' AND breached_at IS NULL;
CREATE INDEX stop_heating_supplier ON dispatch.stop_heating (supplier_id, applied_at DESC);
CREATE INDEX stop_heating_crew ON dispatch.stop_heating (crew_id, applied_at DESC)
    WHERE crew_id IS NOT NULL;
CREATE INDEX stop_heating_building ON dispatch.stop_heating (building_id, season)
    WHERE kind = 'stop' AND status IN ('approved', 'done');

-- The crews' photos of the valve work, kept with the case.
CREATE TABLE dispatch.valve_photo (
    application_id  uuid PRIMARY KEY REFERENCES dispatch.stop_heating (application_id),
    content_type    text NOT NULL,
    bytes           bytea NOT NULL,
    sha256          text NOT NULL
);

-- How many households each building has, from the household registry: the base of the
-- building cap on stopping.
CREATE TABLE dispatch.building_households (
    building_id  text PRIMARY KEY,
    households   bigint NOT NULL CHECK (households > 0)
);
