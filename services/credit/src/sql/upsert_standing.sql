INSERT INTO credit.standing (season, supplier_id, heating_quality, sla_performance,
                             complaint_rate, satisfaction, outages, data_integration, score,
                             grade, vetoed, version, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (season, supplier_id) DO UPDATE
SET heating_quality = excluded.heating_quality, sla_performance = excluded.sla_performance,
    complaint_rate = excluded.complaint_rate, satisfaction = excluded.satisfaction,
    outages = excluded.outages, data_integration = excluded.data_integration,
    score = excluded.score, grade = excluded.grade, vetoed = excluded.vetoed,
    version = excluded.version, updated_at = excluded.updated_at
