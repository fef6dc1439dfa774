-- $1 household, $2 start of the merge window, $3 filer, $4 an hour ago.
SELECT
    (SELECT complaint_id FROM intake.complaint
      WHERE household = $1 AND merged_into IS NULL AND status IN ('open', 'signed')
        AND filed_at > $2
      ORDER BY filed_at DESC LIMIT 1) AS open_complaint,
    (SELECT count(*) FROM intake.complaint WHERE filer = $3 AND filed_at > $4) AS recent,
    (SELECT min(filed_at) FROM intake.complaint WHERE filer = $3 AND filed_at > $4)
        AS oldest_recent
