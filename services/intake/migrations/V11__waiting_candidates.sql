-- The incident watcher looks only for candidates not in an incident yet; most are in one
-- (a cold home filed under an open incident joins it at once), so the indexes it reads hold
-- the waiting ones only.
DROP INDEX intake.incident_candidate_building;
DROP INDEX intake.incident_candidate_station;
CREATE INDEX incident_candidate_waiting_building ON intake.incident_candidate (building_id, filed_at)
    WHERE incident_id IS NULL;
CREATE INDEX incident_candidate_waiting_station ON intake.incident_candidate (station, filed_at)
    WHERE incident_id IS NULL;
