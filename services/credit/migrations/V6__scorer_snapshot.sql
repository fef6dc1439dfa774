-- The ledger feed's scorer, saved every so many events so that a start reads only the log
-- after it. One row per feed; a snapshot is a function of the log up to its position, so an
-- older one is never written over a newer one.
CREATE TABLE credit.scorer_snapshot (
    name            text PRIMARY KEY,
    tx_id           xid8 NOT NULL,
    global_position bigint NOT NULL,
    -- The rulebook it scored under (sha-256 of its versions) and the encoding of `state`: a
    -- snapshot of another rulebook or encoding is not used.
    rulebook        text NOT NULL,
    format          integer NOT NULL,
    -- Published events the scorer had read.
    events          bigint NOT NULL,
    state           bytea NOT NULL,
    taken_at        timestamptz NOT NULL DEFAULT now()
);
