-- $1: every prefix of the heating account; $2: every prefix of the address.
-- An account match wins over an address match; the longest match wins within each.
SELECT building_id, station, district, supplier_id
FROM (
    SELECT b.*, 1 AS rank, length(b.account_prefix) AS len
    FROM intake.building b
    WHERE b.account_prefix = ANY($1::text[])
    UNION ALL
    SELECT b.*, 2 AS rank, length(b.address_key) AS len
    FROM intake.building b
    WHERE b.address_key = ANY($2::text[])
) matches
ORDER BY rank, len DESC, building_id
LIMIT 1
