-- A supplier's entries in a season up to a moment, summed by dimension; a veto stands when no
-- reversal of it was recorded by then.
SELECT e.dimension,
       sum(e.points)::bigint AS points,
       count(*) AS entries,
       coalesce(bool_or(e.rule LIKE 'veto.%' AND NOT EXISTS (
           SELECT 1 FROM credit.entry r
           WHERE r.season = e.season AND r.supplier_id = e.supplier_id
             AND r.reverses = e.entry_id AND r.at <= $3)), false) AS veto_standing
FROM credit.entry e
WHERE e.season = $1 AND e.supplier_id = $2 AND e.at <= $3
GROUP BY e.dimension
