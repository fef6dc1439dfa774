-- Staff accounts as lists show them (a supplier's crews and their members): derived from the
-- `StaffAccountCreated` events, written after each creation and filled again from the events
-- whenever identity starts (so a creation whose row was not written yet is listed after a
-- restart).
CREATE TABLE identity.staff (
    account_id  text PRIMARY KEY,
    username    text NOT NULL,
    role        text NOT NULL,
    district    text,
    supplier    text,
    crew        text,
    created_at  timestamptz NOT NULL
);
CREATE INDEX staff_supplier ON identity.staff (supplier, crew NULLS FIRST, username);
