-- The daily counts' changes. The row triggers of `credit.target_complaint`,
-- `credit.target_measurement` and `credit.target_verdict` append a change here, and
-- `credit.target_day_fold()` adds the changes to `credit.target_day` once per day and scope.
-- Updating the counter row at every change left a chain of row versions that grew with each
-- change of the transaction (a feed batch of hundreds of complaints of one day and supplier),
-- every update slower than the one before it.
-- The counts' columns, without their key: a day and scope has many changes until folded.
CREATE TABLE credit.target_day_change (LIKE credit.target_day);

-- Moves the changes this transaction sees into the daily counts, in key order. A concurrent
-- fold waits for the changes this one took and then skips them.
CREATE FUNCTION credit.target_day_fold() RETURNS void LANGUAGE sql AS $$
    WITH moved AS (DELETE FROM credit.target_day_change RETURNING *)
    INSERT INTO credit.target_day AS d
    SELECT day, district, supplier_id, sum(complaints), sum(measurements), sum(at_or_above),
           sum(verdicts), sum(satisfied)
      FROM moved GROUP BY day, district, supplier_id ORDER BY day, district, supplier_id
    ON CONFLICT (day, district, supplier_id) DO UPDATE SET
        complaints = d.complaints + EXCLUDED.complaints,
        measurements = d.measurements + EXCLUDED.measurements,
        at_or_above = d.at_or_above + EXCLUDED.at_or_above,
        verdicts = d.verdicts + EXCLUDED.verdicts,
        satisfied = d.satisfied + EXCLUDED.satisfied
$$;

-- The daily counts with the changes not folded yet: what the board reads.
CREATE VIEW credit.target_day_counts AS
    SELECT * FROM credit.target_day UNION ALL SELECT * FROM credit.target_day_change;

-- The triggers append their changes in one statement each: the old row's (-1) where it
-- counted, the new row's (+1) where it counts; on INSERT OLD is null, on DELETE NEW is.
CREATE OR REPLACE FUNCTION credit.target_complaint_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credit.target_day_change
    SELECT (at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(district, ''),
           coalesce(supplier_id, ''), n, 0, 0, 0, 0
      FROM (VALUES (OLD.filed_at, OLD.district, OLD.supplier_id, -1,
                    TG_OP <> 'INSERT' AND NOT OLD.rejected),
                   (NEW.filed_at, NEW.district, NEW.supplier_id, 1,
                    TG_OP <> 'DELETE' AND NOT NEW.rejected)) c (at, district, supplier_id, n, counts)
     WHERE counts;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION credit.target_measurement_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credit.target_day_change
    SELECT (at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(district, ''),
           coalesce(supplier_id, ''), 0, n, n * (tenths >= 180)::integer, 0, 0
      FROM (VALUES (OLD.at, OLD.district, OLD.supplier_id, OLD.tenths, -1, TG_OP = 'DELETE'),
                   (NEW.at, NEW.district, NEW.supplier_id, NEW.tenths, 1, TG_OP = 'INSERT'))
           c (at, district, supplier_id, tenths, n, counts)
     WHERE counts;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION credit.target_verdict_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credit.target_day_change
    SELECT (at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(district, ''),
           coalesce(supplier_id, ''), 0, 0, 0, n, n * (rating <> 'unsatisfied')::integer
      FROM (VALUES (OLD.at, OLD.district, OLD.supplier_id, OLD.rating, -1, TG_OP = 'DELETE'),
                   (NEW.at, NEW.district, NEW.supplier_id, NEW.rating, 1, TG_OP = 'INSERT'))
           c (at, district, supplier_id, rating, n, counts)
     WHERE counts;
    RETURN NULL;
END $$;

DROP FUNCTION credit.target_day_add(timestamptz, text, text, integer, integer, integer, integer,
    integer);
