-- Households whose heating was stopped (or restored) for a season through an approved
-- application and a crew's valve work: a stopped household pays the base fee share of its fee.
-- The latest event of a household and season stands.
CREATE TABLE credit.refund_stopped (
    household           text NOT NULL,
    season              text NOT NULL,
    stopped             boolean NOT NULL,
    base_fee_share_pct  integer NOT NULL,
    application_id      uuid NOT NULL,
    at                  timestamptz NOT NULL,
    event_id            uuid NOT NULL,
    log_tx              bigint NOT NULL,
    log_pos             bigint NOT NULL,
    PRIMARY KEY (household, season)
);
