-- $1: lock keys. Taken in ascending lock id, the same order in every transaction, so that two
-- transactions never wait for each other in a cycle.
SELECT count(pg_advisory_xact_lock(id))
FROM (SELECT DISTINCT hashtextextended(k, 0) AS id FROM unnest($1::text[]) AS k ORDER BY id) ids
