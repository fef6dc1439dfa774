-- Seals: the logs below the horizon, hashed in order into chained, signed Merkle roots.
-- Each seal's body is the text that is signed; the columns beside it are for lookups.

-- The sealer's Ed25519 keys; the private half is wrapped by the master key.
CREATE TABLE eventstore.seal_key (
    key_id      text        PRIMARY KEY,
    public_key  bytea       NOT NULL CHECK (length(public_key) = 32),
    private_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE eventstore.seal (
    seq                   bigint      PRIMARY KEY CHECK (seq > 0),
    body                  text        NOT NULL,
    hash                  bytea       NOT NULL,
    signature             bytea       NOT NULL,
    key_id                text        NOT NULL REFERENCES eventstore.seal_key (key_id),
    sealed_at             timestamptz NOT NULL,
    events_through_tx     xid8        NOT NULL,
    events_through_pos    bigint      NOT NULL,
    events_count          bigint      NOT NULL,
    published_through_tx  xid8        NOT NULL,
    published_through_pos bigint      NOT NULL,
    published_count       bigint      NOT NULL,
    -- per leaf, in the tree's order: log (1 byte), tx id (8), position (8), event id (16),
    -- leaf hash (32)
    leaves                bytea       NOT NULL
);
CREATE INDEX seal_events_through ON eventstore.seal (events_through_tx, events_through_pos);
CREATE INDEX seal_published_through ON eventstore.seal (published_through_tx, published_through_pos);
