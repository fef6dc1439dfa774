-- Lists every staff account created in the log that `identity.staff` does not list yet. An
-- account's creation is the first event of its stream: `sequence = 1` lets the index skip
-- every later event (residents' logins above all) without reading it.
INSERT INTO identity.staff (account_id, username, role, district, supplier, crew, created_at)
SELECT aggregate_id,
       payload -> 'StaffAccountCreated' ->> 'username',
       payload -> 'StaffAccountCreated' ->> 'role',
       payload -> 'StaffAccountCreated' -> 'scope' ->> 'district',
       payload -> 'StaffAccountCreated' -> 'scope' ->> 'supplier',
       payload -> 'StaffAccountCreated' -> 'scope' ->> 'crew',
       recorded_at
FROM eventstore.event
WHERE aggregate_type = 'account'
  AND sequence = 1
  AND event_type = 'StaffAccountCreated'
ON CONFLICT (account_id) DO NOTHING
