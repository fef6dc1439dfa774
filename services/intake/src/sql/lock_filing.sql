-- One filing at a time per household (so a repeat sees the complaint it merges into) and per
-- filer (so the hourly limit is exact). Always in this order: no deadlock.
SELECT pg_advisory_xact_lock(hashtextextended('intake.household:' || $1::text, 0)),
       pg_advisory_xact_lock(hashtextextended('intake.filer:' || $2::text, 0))
