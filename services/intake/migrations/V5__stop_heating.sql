-- Stop-heating (and restore) applications as residents follow them: written with the
-- application's event, then moved on by dispatch's news (the supplier's reply, the crew's
-- valve work). A household has at most one application of a kind per season that was not
-- refused.
CREATE TABLE intake.stop_heating (
    application_id  uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('stop', 'restore')),
    season          text NOT NULL,
    household       text NOT NULL,
    reason          text NOT NULL,
    building_id     text NOT NULL,
    supplier_id     text NOT NULL,
    filed_by        text NOT NULL,
    filed_at        timestamptz NOT NULL,
    deadline        timestamptz NOT NULL,
    -- applied → approved → done, or applied → refused
    status          text NOT NULL DEFAULT 'applied'
                    CHECK (status IN ('applied', 'approved', 'refused', 'done')),
    refusal         text,
    note            text,
    replied_at      timestamptz,
    done_at         timestamptz
);

CREATE UNIQUE INDEX stop_heating_one_open ON intake.stop_heating (household, season, kind)
    WHERE status <> 'refused';
CREATE INDEX stop_heating_filer ON intake.stop_heating (filed_by, filed_at DESC);
