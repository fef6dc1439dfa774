-- Refunds for late or insufficient heating.

-- The fee basis of each registered household (`heatline import households`): the household
-- key is intake's pseudonym of its heating account, so no account number is kept here.
CREATE TABLE credit.refund_household (
    household        text PRIMARY KEY,
    building_id      text NOT NULL,
    district         text NOT NULL,
    supplier_id      text NOT NULL,
    area_centi_m2    bigint NOT NULL CHECK (area_centi_m2 > 0),
    price_fen_per_m2 bigint NOT NULL CHECK (price_fen_per_m2 > 0),
    imported_at      timestamptz NOT NULL,
    -- The import whose household the recount sweep has counted (repairs resolved before it
    -- was registered): null until then.
    counted_at       timestamptz
);
CREATE INDEX refund_household_building ON credit.refund_household (building_id);
CREATE INDEX refund_household_supplier ON credit.refund_household (supplier_id);

-- The facts the refunds are counted from, kept by the `refund_facts` subscription. Each row
-- carries the log position of the event that wrote it (`log_tx`, `log_pos`), so an accrual
-- reads the facts as they were at its own event, whatever ran ahead since.
CREATE TABLE credit.refund_ticket (
    ticket_id    text PRIMARY KEY,
    incident     boolean NOT NULL,
    no_heat      boolean NOT NULL,
    building_id  text,
    supplier_id  text,
    filed_at     timestamptz NOT NULL,
    opened_event uuid NOT NULL,
    log_tx       bigint NOT NULL,
    log_pos      bigint NOT NULL
);
CREATE INDEX refund_ticket_building ON credit.refund_ticket (building_id) WHERE incident;

CREATE TABLE credit.refund_ticket_household (
    ticket_id text NOT NULL,
    household text NOT NULL,
    log_tx    bigint NOT NULL,
    log_pos   bigint NOT NULL,
    PRIMARY KEY (ticket_id, household)
);
CREATE INDEX refund_ticket_household_household ON credit.refund_ticket_household (household);

CREATE TABLE credit.refund_reopening (
    ticket_id   text NOT NULL,
    cycle       integer NOT NULL,
    reopened_at timestamptz NOT NULL,
    event_id    uuid NOT NULL,
    log_tx      bigint NOT NULL,
    log_pos     bigint NOT NULL,
    PRIMARY KEY (ticket_id, cycle)
);

CREATE TABLE credit.refund_reading (
    event_id    uuid PRIMARY KEY,
    ticket_id   text NOT NULL,
    cycle       integer NOT NULL,
    tenths      integer NOT NULL,
    measured_at timestamptz NOT NULL,
    log_tx      bigint NOT NULL,
    log_pos     bigint NOT NULL
);
CREATE INDEX refund_reading_ticket ON credit.refund_reading (ticket_id);

CREATE TABLE credit.refund_resolution (
    ticket_id     text NOT NULL,
    cycle         integer NOT NULL,
    event_id      uuid NOT NULL,
    cause         text NOT NULL,
    supplier_side boolean NOT NULL,
    resolved_at   timestamptz NOT NULL,
    log_tx        bigint NOT NULL,
    log_pos       bigint NOT NULL,
    PRIMARY KEY (ticket_id, cycle)
);

-- Which households a resident filed for: their refund statements in the app.
CREATE TABLE credit.refund_resident (
    resident  text NOT NULL,
    household text NOT NULL,
    PRIMARY KEY (resident, household)
);

-- The refund ledger: each refunded day of a household's season as accrued (the
-- `refund_account` streams' projection).
CREATE TABLE credit.refund_day (
    season        text NOT NULL,
    household     text NOT NULL,
    day           date NOT NULL,
    supplier_id   text NOT NULL,
    rule          text NOT NULL,
    tier          text NOT NULL,
    share_pct     integer NOT NULL,
    lowest_tenths integer,
    amount_fen    bigint NOT NULL,
    version       text NOT NULL,
    evidence      uuid[] NOT NULL,
    tickets       text[] NOT NULL,
    accrued_at    timestamptz NOT NULL,
    PRIMARY KEY (season, household, day)
);
CREATE INDEX refund_day_supplier ON credit.refund_day (season, supplier_id);
