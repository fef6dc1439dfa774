-- The targets board's read model: what the regulator measures the city against, projected
-- from intake's and dispatch's published events by the `targets_feed` subscription.

-- Every complaint filed (accepted, merged into another, or joined to an incident), with the
-- route of its building once known.
CREATE TABLE credit.target_complaint (
    complaint_id text PRIMARY KEY,
    -- The complaint it was merged into, whose route it shares.
    into_id      text,
    household    text NOT NULL,
    category     text NOT NULL,
    source       text NOT NULL,
    district     text,
    station      text,
    building_id  text,
    supplier_id  text,
    filed_at     timestamptz NOT NULL,
    rejected     boolean NOT NULL DEFAULT false
);
CREATE INDEX target_complaint_filed ON credit.target_complaint (filed_at);
CREATE INDEX target_complaint_into ON credit.target_complaint (into_id) WHERE into_id IS NOT NULL;

-- Every ticket: where it is, and the moments the board measures.
CREATE TABLE credit.target_ticket (
    ticket_id     text PRIMARY KEY,
    incident      boolean NOT NULL,
    category      text NOT NULL,
    district      text,
    station       text,
    building_id   text,
    supplier_id   text,
    opened_at     timestamptz NOT NULL,
    households    integer NOT NULL,
    -- The first dispatch and the first signing after it.
    dispatched_at timestamptz,
    signed_at     timestamptz,
    -- The first resolution, and the cause of the latest one.
    resolved_at   timestamptz,
    cause         text,
    reopened      integer NOT NULL DEFAULT 0,
    closed_at     timestamptz
);
CREATE INDEX target_ticket_opened ON credit.target_ticket (opened_at);
CREATE INDEX target_ticket_open_incidents ON credit.target_ticket (opened_at)
    WHERE incident AND closed_at IS NULL;

-- Every certified room measurement.
CREATE TABLE credit.target_measurement (
    event_id    uuid PRIMARY KEY,
    ticket_id   text NOT NULL,
    supplier_id text NOT NULL,
    tenths      integer NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX target_measurement_at ON credit.target_measurement (at);

-- Every resident's verdict (a ticket's, or one member complaint's).
CREATE TABLE credit.target_verdict (
    event_id    uuid PRIMARY KEY,
    ticket_id   text NOT NULL,
    supplier_id text NOT NULL,
    rating      text NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    at          timestamptz NOT NULL
);
CREATE INDEX target_verdict_at ON credit.target_verdict (at);

-- Grades the regulator published (closed periods only): what the public board shows.
CREATE TABLE credit.publication (
    season       text NOT NULL,
    supplier_id  text NOT NULL,
    period       text NOT NULL,
    score        bigint NOT NULL,
    grade        text NOT NULL,
    vetoed       boolean NOT NULL,
    published_at timestamptz NOT NULL,
    PRIMARY KEY (season, supplier_id, period)
);

-- Cold-snap orders: what the regulator ordered, and which suppliers acknowledged.
CREATE TABLE credit.cold_snap_order (
    order_id    uuid PRIMARY KEY,
    districts   text[] NOT NULL,
    suppliers   text[] NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    instruction text NOT NULL,
    issued_at   timestamptz NOT NULL,
    issued_by   text NOT NULL
);
CREATE INDEX cold_snap_order_starts ON credit.cold_snap_order (starts_at);
CREATE TABLE credit.cold_snap_ack (
    order_id        uuid NOT NULL,
    supplier_id     text NOT NULL,
    note            text NOT NULL,
    acknowledged_at timestamptz NOT NULL,
    acknowledged_by text NOT NULL,
    PRIMARY KEY (order_id, supplier_id)
);
