-- Lists every staff account created in the log that `identity.staff` does not list yet.
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
  AND event_type = 'StaffAccountCreated'
ON CONFLICT (account_id) DO NOTHING
