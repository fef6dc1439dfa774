-- The queue's bands and the channel filter: when a ticket's nearest deadline has a quarter of
-- its target left (from then on it is "at risk"), and the channel of its first complaint.
-- Rows written before this migration get both at their next event (or with
-- `heatline projections rebuild dispatch.queue`).
ALTER TABLE dispatch.ticket ADD COLUMN risk_at timestamptz;
ALTER TABLE dispatch.ticket ADD COLUMN channel text;
