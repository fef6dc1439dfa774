-- Erasure: when a complaint's personal data (account, address, position, phone, words,
-- photos) was erased; those columns are then empty, here and in every rebuild.
ALTER TABLE intake.complaint ADD COLUMN personal_erased_at timestamptz;

-- Complaints whose retention runs: closed (repair finished or cancelled, withdrawn, rejected)
-- and when. The retention worker erases their personal data a configured time later.
CREATE TABLE intake.complaint_closed (
    complaint_id  uuid PRIMARY KEY,
    closed_at     timestamptz NOT NULL
);
CREATE INDEX complaint_closed_at ON intake.complaint_closed (closed_at);

-- The household pseudonym key (HMAC-SHA256 of an account or an address), wrapped by the
-- master key; one row.
CREATE TABLE intake.pseudonym_key (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    wrapped  bytea NOT NULL
);
