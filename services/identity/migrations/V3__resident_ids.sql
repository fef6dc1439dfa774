-- The secret that turns a WeChat openid or a phone number into a resident's account id (and a
-- phone's stream id): an HMAC, so that the ids in the log cannot be recomputed from a number by
-- anyone without it. Wrapped by the master key; one row.
CREATE TABLE identity.resident_id_key (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    wrapped  bytea NOT NULL
);
