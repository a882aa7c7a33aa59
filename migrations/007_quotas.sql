-- Quotas that keep one user from hoarding a neighbourhood.

-- How far a store delivers, in metres (great_circle_m from the store to the delivery point). Null:
-- the service's default (DELIVERY_RADIUS_M). A store on a scooter route may reach farther, one on
-- foot nearer.
ALTER TABLE stores ADD COLUMN delivery_radius_m integer CHECK (delivery_radius_m > 0);

-- Every create counts its creator's open orders (pending, not yet past expires_at) under a lock on
-- the creator's row: this partial index makes that count read the few pending ones, not the history.
CREATE INDEX orders_open_by_creator_idx ON orders (creator_id, expires_at) WHERE status = 'pending';
