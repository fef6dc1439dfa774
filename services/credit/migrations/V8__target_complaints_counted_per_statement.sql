-- New complaints are counted once per statement, not once per row. The targets feed inserts a
-- batch's accepted complaints in one statement; a row trigger ran a PL/pgSQL call and an
-- insert into `credit.target_day_change` for each of them (and the fold then moved each of
-- those rows). The statement trigger below notes one change per day and scope for all the
-- rows the statement inserted (rows skipped by ON CONFLICT are not among them).
-- Updates and deletes (a route found, a rejection) stay counted row by row, as before.
DROP TRIGGER target_complaint_day ON credit.target_complaint;
CREATE TRIGGER target_complaint_day
    AFTER DELETE OR UPDATE OF filed_at, district, supplier_id, rejected
    ON credit.target_complaint FOR EACH ROW EXECUTE FUNCTION credit.target_complaint_day();

CREATE FUNCTION credit.target_complaints_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credit.target_day_change
    SELECT (filed_at AT TIME ZONE 'Asia/Shanghai')::date, coalesce(district, ''),
           coalesce(supplier_id, ''), count(*), 0, 0, 0, 0
      FROM added WHERE NOT rejected
     GROUP BY 1, 2, 3;
    RETURN NULL;
END $$;
CREATE TRIGGER target_complaints_added AFTER INSERT ON credit.target_complaint
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION credit.target_complaints_added();
