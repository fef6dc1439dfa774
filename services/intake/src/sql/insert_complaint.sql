INSERT INTO intake.complaint
    (complaint_id, filer, source, category, priority, status, household, account_no, address,
     lat, long, contact_phone, building_id, station, district, supplier_id, reading_tenths,
     description, photos, hotline_work_order, merged_into, filed_at, updated_at, version,
     personal_erased_at, incident_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $22, $23, $24, $25)
