-- Dispatch's read models, written in the same transaction as the ticket's events.

-- The dispatcher queue: one row per ticket.
CREATE TABLE dispatch.ticket (
    ticket_id     uuid PRIMARY KEY,
    version       bigint NOT NULL,
    origin        text NOT NULL,
    status        text NOT NULL,
    is_open       boolean NOT NULL,
    category      text NOT NULL,
    priority      text NOT NULL,
    district      text,
    station       text,
    building_id   text,
    supplier_id   text,
    crew_id       text,
    households    integer NOT NULL,
    cycle         integer NOT NULL,
    paused        boolean NOT NULL,
    breached      boolean NOT NULL,
    -- The nearest deadline of a running clock (9999-12-31 when none): the queue's order.
    sort_at       timestamptz NOT NULL,
    next_clock    text,
    filed_at      timestamptz NOT NULL,
    opened_at     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX ticket_queue ON dispatch.ticket (sort_at, ticket_id) WHERE is_open;
CREATE INDEX ticket_queue_district ON dispatch.ticket (district, sort_at, ticket_id) WHERE is_open;
CREATE INDEX ticket_queue_supplier ON dispatch.ticket (supplier_id, sort_at, ticket_id) WHERE is_open;
CREATE INDEX ticket_crew ON dispatch.ticket (crew_id, sort_at, ticket_id) WHERE crew_id IS NOT NULL;

-- Which ticket carries a complaint (a merged one, a member of an incident).
CREATE TABLE dispatch.ticket_complaint (
    complaint_id  uuid PRIMARY KEY,
    ticket_id     uuid NOT NULL
);

-- The durable timer: the deadlines that can still pass, one per ticket and clock.
CREATE TABLE dispatch.deadline (
    ticket_id     uuid NOT NULL,
    clock         text NOT NULL,
    due_at        timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, clock)
);

CREATE INDEX deadline_due ON dispatch.deadline (due_at);

-- The crew register.
CREATE TABLE dispatch.crew (
    crew_id       uuid PRIMARY KEY,
    supplier_id   text NOT NULL,
    name          text NOT NULL,
    district      text,
    active        boolean NOT NULL,
    registered_at timestamptz NOT NULL
);

CREATE INDEX crew_supplier ON dispatch.crew (supplier_id, name);
