-- Password hashes live here, never in the event log: an account's events name the credential
-- that holds its password (`credential`), and a changed password's old hash is deleted.
CREATE TABLE identity.credential (
    credential_id uuid        PRIMARY KEY,
    account_id    text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credential_account ON identity.credential (account_id);

-- Accounts created before this: each event that carried a hash now names a credential (the
-- event's own id) holding it, and the hash leaves the event. This runs with the migrations,
-- before any seal covers those events.
INSERT INTO identity.credential (credential_id, account_id, password_hash, created_at)
SELECT event_id, aggregate_id, payload -> event_type ->> 'password_hash', recorded_at
FROM eventstore.event
WHERE aggregate_type = 'account'
  AND event_type IN ('StaffAccountCreated', 'PasswordChanged')
  AND payload -> event_type ? 'password_hash';

UPDATE eventstore.event
SET payload = jsonb_set(payload #- ARRAY[event_type, 'password_hash'],
                        ARRAY[event_type, 'credential'], to_jsonb(event_id::text))
WHERE aggregate_type = 'account'
  AND event_type IN ('StaffAccountCreated', 'PasswordChanged')
  AND payload -> event_type ? 'password_hash';

-- Only each account's current password is kept.
DELETE FROM identity.credential c
USING eventstore.event e
WHERE e.event_id = c.credential_id
  AND EXISTS (
      SELECT 1 FROM eventstore.event later
      WHERE later.aggregate_type = 'account' AND later.aggregate_id = e.aggregate_id
        AND later.event_type IN ('StaffAccountCreated', 'PasswordChanged')
        AND later.sequence > e.sequence);
