-- What a filing's decision reads besides its stream.
-- $1 household, $2 start of the merge window, $3 filer, $4 an hour ago, $5 the hourly limit
-- (0 for a filer it does not hold: LIMIT 0 reads no row), $6 building, $7 station (either may
-- be null), $8 start of the incident window.
-- `recent` counts at most $5 filings (all the limit needs) and `nth_recent` is the time of the
-- $5-th most recent: a place frees up an hour after it. `open_incident` is the incident of the
-- building, else of the station, whose last member came within the window (the incident
-- watcher's own rule).
SELECT
    (SELECT complaint_id FROM intake.complaint
      WHERE household = $1 AND merged_into IS NULL AND status IN ('open', 'signed')
        AND filed_at > $2
      ORDER BY filed_at DESC LIMIT 1) AS open_complaint,
    recent.n AS recent,
    recent.nth AS nth_recent,
    (SELECT incident_id FROM intake.open_incident
      WHERE ((scope = 'building' AND key = $6) OR (scope = 'station' AND key = $7))
        AND last_at >= $8
      ORDER BY scope = 'building' DESC LIMIT 1) AS open_incident
FROM (
    SELECT count(*) AS n, min(filed_at) AS nth
    FROM (SELECT filed_at FROM intake.complaint WHERE filer = $3 AND filed_at > $4
          ORDER BY filed_at DESC LIMIT $5) last
) recent
