-- The private streams of every aggregate (domain events, serde JSON) and the public log of
-- integration events (protobuf). Both are ordered for readers by (tx_id, global_position):
-- a reader only reads below the oldest transaction still running, so a transaction that took
-- its position early and committed late is never skipped.

CREATE TABLE eventstore.event (
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence        bigint      NOT NULL CHECK (sequence > 0),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    event_version   text        NOT NULL,
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_pkey PRIMARY KEY (aggregate_type, aggregate_id, sequence),
    CONSTRAINT event_event_id_key UNIQUE (event_id)
);
CREATE UNIQUE INDEX event_log_order ON eventstore.event (tx_id, global_position);

CREATE TABLE eventstore.published_event (
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL,
    message_type    text        NOT NULL,
    payload         bytea       NOT NULL,
    -- the domain event that caused this one
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence        bigint      NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT published_event_event_id_key UNIQUE (event_id)
);
-- The readers' order, and the key: global_position is unique by construction (an identity), so
-- a separate primary-key index would only cost every append another index insertion.
CREATE UNIQUE INDEX published_event_log_order ON eventstore.published_event (tx_id, global_position);
