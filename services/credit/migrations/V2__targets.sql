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
    closed_at     timestamptz,
    -- Seconds from opening to the first resolution, sorted by the board's percentiles.
    restore_s     integer GENERATED ALWAYS AS
                    (extract(epoch FROM resolved_at - opened_at)::integer) STORED
);
CREATE INDEX target_ticket_opened ON credit.target_ticket (opened_at);
CREATE INDEX target_ticket_open_incidents ON credit.target_ticket (opened_at)
    WHERE incident AND closed_at IS NULL;

-- Every certified room measurement.
CREATE TABLE credit.target_measurement (
    event_id    uuid PRIMARY KEY,
    ticket_id   text NOT NULL,
    -- The ticket's district when the measurement was taken.
    district    text,
    supplier_id text NOT NULL,
    tenths      integer NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX target_measurement_at ON credit.target_measurement (at);

-- Every resident's verdict (a ticket's, or one member complaint's).
CREATE TABLE credit.target_verdict (
    event_id    uuid PRIMARY KEY,
    ticket_id   text NOT NULL,
    -- The ticket's district when the verdict was given.
    district    text,
    supplier_id text NOT NULL,
    rating      text NOT NULL CHECK (rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    at          timestamptz NOT NULL
);
CREATE INDEX target_verdict_at ON credit.target_verdict (at);

-- The complaints, measurements and verdicts above counted by China day, district and supplier
-- ('' where not known yet), kept by the triggers below in the statement that changes a row, so
-- the board reads whole days from here and only the current day from the rows themselves.
CREATE TABLE credit.target_day (
    day          date NOT NULL,
    district     text NOT NULL,
    supplier_id  text NOT NULL,
    complaints   integer NOT NULL,
    measurements integer NOT NULL,
    at_or_above  integer NOT NULL,
    verdicts     integer NOT NULL,
    satisfied    integer NOT NULL,
    PRIMARY KEY (day, district, supplier_id)
);

CREATE FUNCTION credit.target_day_add(at timestamptz, district text, supplier_id text,
    complaints integer, measurements integer, at_or_above integer, verdicts integer,
    satisfied integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO credit.target_day AS d VALUES ((at AT TIME ZONE 'Asia/Shanghai')::date,
        coalesce(district, ''), coalesce(supplier_id, ''), complaints, measurements,
        at_or_above, verdicts, satisfied)
    ON CONFLICT (day, district, supplier_id) DO UPDATE SET
        complaints = d.complaints + EXCLUDED.complaints,
        measurements = d.measurements + EXCLUDED.measurements,
        at_or_above = d.at_or_above + EXCLUDED.at_or_above,
        verdicts = d.verdicts + EXCLUDED.verdicts,
        satisfied = d.satisfied + EXCLUDED.satisfied
$$;

-- A complaint counts unless rejected, under its route once routed.
CREATE FUNCTION credit.target_complaint_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND NOT OLD.rejected THEN
        PERFORM credit.target_day_add(OLD.filed_at, OLD.district, OLD.supplier_id, -1, 0, 0, 0, 0);
    END IF;
    IF TG_OP <> 'DELETE' AND NOT NEW.rejected THEN
        PERFORM credit.target_day_add(NEW.filed_at, NEW.district, NEW.supplier_id, 1, 0, 0, 0, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER target_complaint_day
    AFTER INSERT OR DELETE OR UPDATE OF filed_at, district, supplier_id, rejected
    ON credit.target_complaint FOR EACH ROW EXECUTE FUNCTION credit.target_complaint_day();

CREATE FUNCTION credit.target_measurement_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM credit.target_day_add(OLD.at, OLD.district, OLD.supplier_id, 0, -1,
            -(OLD.tenths >= 180)::integer, 0, 0);
    ELSE
        PERFORM credit.target_day_add(NEW.at, NEW.district, NEW.supplier_id, 0, 1,
            (NEW.tenths >= 180)::integer, 0, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER target_measurement_day AFTER INSERT OR DELETE ON credit.target_measurement
    FOR EACH ROW EXECUTE FUNCTION credit.target_measurement_day();

CREATE FUNCTION credit.target_verdict_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM credit.target_day_add(OLD.at, OLD.district, OLD.supplier_id, 0, 0, 0, -1,
            -(OLD.rating <> 'unsatisfied')::integer);
    ELSE
        PERFORM credit.target_day_add(NEW.at, NEW.district, NEW.supplier_id, 0, 0, 0, 1,
            (NEW.rating <> 'unsatisfied')::integer);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER target_verdict_day AFTER INSERT OR DELETE ON credit.target_verdict
    FOR EACH ROW EXECUTE FUNCTION credit.target_verdict_day();

-- Each district's heated area, from the building registry (copied at each import of it).
CREATE TABLE credit.district (
    district       text PRIMARY KEY,
    heated_area_m2 double precision NOT NULL CHECK (heated_area_m2 > 0),
    buildings      bigint NOT NULL
);

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
