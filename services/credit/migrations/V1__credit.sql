-- Credit's read model, written in the same transaction as the ledger's events.

-- The supplier registry (heatline import suppliers FILE.csv).
CREATE TABLE credit.supplier (
    supplier_id    text PRIMARY KEY,
    name           text NOT NULL,
    districts      text[] NOT NULL,
    heated_area_m2 double precision NOT NULL CHECK (heated_area_m2 > 0),
    contact        text NOT NULL,
    imported_at    timestamptz NOT NULL DEFAULT now()
);

-- Every ledger entry, in its stream's order.
CREATE TABLE credit.entry (
    entry_id         uuid PRIMARY KEY,
    supplier_id      text NOT NULL,
    season           text NOT NULL,
    sequence         bigint NOT NULL,
    dimension        text NOT NULL,
    rule             text NOT NULL,
    rulebook_version text NOT NULL,
    points           bigint NOT NULL,
    evidence         uuid[] NOT NULL,
    tickets          text[] NOT NULL,
    detail           text NOT NULL,
    at               timestamptz NOT NULL,
    reverses         uuid,
    recorded_at      timestamptz NOT NULL,
    CONSTRAINT entry_stream_order UNIQUE (season, supplier_id, sequence)
);
-- The score as of a moment sums the entries up to it.
CREATE INDEX entry_as_of ON credit.entry (season, supplier_id, at);

-- Each supplier's standing in a season now.
CREATE TABLE credit.standing (
    season           text NOT NULL,
    supplier_id      text NOT NULL,
    heating_quality  bigint NOT NULL,
    sla_performance  bigint NOT NULL,
    complaint_rate   bigint NOT NULL,
    satisfaction     bigint NOT NULL,
    outages          bigint NOT NULL,
    data_integration bigint NOT NULL,
    score            bigint NOT NULL,
    grade            text NOT NULL,
    vetoed           boolean NOT NULL,
    version          bigint NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (season, supplier_id)
);
CREATE INDEX standing_ranking ON credit.standing (season, score DESC, supplier_id);

-- Appeals against entries.
CREATE TABLE credit.appeal (
    appeal_id   uuid PRIMARY KEY,
    season      text NOT NULL,
    supplier_id text NOT NULL,
    entry_id    uuid NOT NULL UNIQUE,
    statement   text NOT NULL,
    attachments text[] NOT NULL,
    filed_at    timestamptz NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'upheld', 'rejected')),
    reason      text,
    decided_at  timestamptz
);
CREATE INDEX appeal_by_supplier ON credit.appeal (season, supplier_id, filed_at);
CREATE INDEX appeal_pending ON credit.appeal (status, filed_at) WHERE status = 'pending';

-- Months closed, and the season's final grade.
CREATE TABLE credit.closing (
    season      text NOT NULL,
    supplier_id text NOT NULL,
    period      text NOT NULL,
    is_final    boolean NOT NULL,
    score       bigint NOT NULL,
    grade       text NOT NULL,
    vetoed      boolean NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (season, supplier_id, period)
);
