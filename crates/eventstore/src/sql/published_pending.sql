-- Committed events past the checkpoint that the horizon still holds back.
SELECT EXISTS (
    SELECT 1 FROM eventstore.published_event
    WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
)
