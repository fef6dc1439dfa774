INSERT INTO credit.entry (entry_id, supplier_id, season, sequence, dimension, rule,
                          rulebook_version, points, evidence, tickets, detail, at, reverses,
                          recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
