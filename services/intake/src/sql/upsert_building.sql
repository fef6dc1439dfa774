INSERT INTO intake.building
    (building_id, district, station, supplier_id, address, address_key, account_prefix,
     heated_area_m2, imported_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (building_id) DO UPDATE SET
    district = excluded.district,
    station = excluded.station,
    supplier_id = excluded.supplier_id,
    address = excluded.address,
    address_key = excluded.address_key,
    account_prefix = excluded.account_prefix,
    heated_area_m2 = excluded.heated_area_m2,
    imported_at = excluded.imported_at
